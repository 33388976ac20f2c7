"""考核清单 / the assessment: the ranking of units, how each area score was built, rank
changes and town-wide ranks. Composed in ``data/config/assessment.toml``; defined in
docs/metrics.md (考核清单). The scores come from :mod:`metrics.assessment_scores`.

Four areas, 25 points each by default — 网格日常运行 (``daily_ops``), 党内组织生活
(``org_life``), 收集反馈民情民意 (``public_opinion``), 参与社会治理和联系服务群众
(``governance``) — each ``points × Σ weight·component ÷ Σ weight`` over its
components (fractions in [0, 1] computed from the unit's pooled numbers over the
range; a component with nothing to measure is left out and the others rescaled; an
area with none scores 0). ``total = max(0, Σ areas − deductions)`` and units of the
same level in scope are ranked by total (ties share the better rank, 1, 2, 2, 4 …).

Deductions of a unit: those recorded on the unit itself and on every unit inside it
(a village: its sub-grids; the town: its villages and sub-grids) and, when
``member_deductions`` is true, on the people whose sub-grid is inside it.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import polars as pl

from metrics.assessment_scores import assessment_scores
from metrics.config import AREA_KEYS, Config
from metrics.filters import Filter
from metrics.query_context import Context
from metrics.scope import scoped


@scoped
def assessment(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The ranking of the units of ``f.level`` in scope over the range: ``unit_id,
    unit_name, daily_ops, org_life, public_opinion, governance, deductions, total,
    rank, reported`` (best first; a unit with a month 未报送 has no scores and no rank,
    and comes last)."""
    ctx = Context.of(con, f, config, rollups)
    return (
        ctx.range_rows(assessment_scores(ctx))
        .select("unit_id", "unit_name", *AREA_KEYS, "deductions", "total", "rank", "reported")
        .sort("rank", "unit_id", nulls_last=True)
    )


@scoped
def assessment_components(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """How each area score was built: one row per unit, area and component with
    ``unit_id, unit_name, area, area_label, area_points, component, weight, value``
    (null = nothing to measure, left out) and ``score`` (the area's points)."""
    ctx = Context.of(con, f, config, rollups)
    scored = ctx.range_rows(assessment_scores(ctx))
    parts = []
    for area in ctx.config.assessment.areas:
        for component, weight in area.components:
            parts.append(
                scored.select(
                    "unit_id",
                    "unit_name",
                    area=pl.lit(area.key),
                    area_label=pl.lit(area.label),
                    area_points=pl.lit(area.points),
                    component=pl.lit(component),
                    weight=pl.lit(weight),
                    value=pl.col(component),
                    score=pl.col(area.key),
                )
            )
    if not parts or scored.is_empty():
        return pl.DataFrame()
    return pl.concat(parts).sort("unit_id", maintain_order=True)


@scoped
def rank_change(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """Rank over the range against the equally long range before it: ``unit_id,
    unit_name, total, rank, previous_total, previous_rank, rank_change`` (positive =
    moved up; null when the unit had no data before). For a single month this is the
    month-over-month change."""
    ctx = Context.of(con, f, config, rollups, buckets="compare")
    scored = assessment_scores(ctx).select("unit_id", "unit_name", "bucket", "total", "rank")
    current = scored.filter(pl.col("bucket") == f.start).drop("bucket")
    previous = scored.filter(pl.col("bucket") == f.previous().start).select(
        "unit_id", previous_total="total", previous_rank="rank"
    )
    return (
        current.join(previous, on="unit_id", how="left")
        .with_columns(rank_change=pl.col("previous_rank") - pl.col("rank"))
        .sort("rank", "unit_id", nulls_last=True)
    )


@scoped
def town_ranks(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """The town-wide rank of the units of ``f.level`` inside ``f.village_id`` (all units
    without one): ``unit_id, total, rank, previous_rank, rank_change, units`` (as
    :func:`rank_change`; ``units`` = how many are ranked).

    A rank is a position among every unit of the town, so it is computed over all of
    them; only the rows of the units in scope are returned. A 村居书记 thus sees where
    their village (or each of its sub-grids) stands, and how many units there are, but
    no other unit's score.
    """
    town = replace(f, village_id=None)
    # The undecorated function: the scope allows this village's rows, which are
    # filtered below; the other units' scores never leave this function.
    ranked = rank_change.__wrapped__(con, town, config=config, rollups=rollups)
    ranked_units = ranked["rank"].is_not_null().sum()  # units 未报送 have no rank
    out = ranked.select("unit_id", "total", "rank", "previous_rank", "rank_change").with_columns(
        units=pl.lit(ranked_units, dtype=pl.Int64)
    )
    if f.village_id is None:
        return out
    if f.level == "village":
        return out.filter(pl.col("unit_id") == f.village_id)
    if f.level == "subgrid":
        inside = con.execute(
            "SELECT subgrid_id FROM subgrid WHERE village_id = ?", [f.village_id]
        ).fetchall()
        return out.filter(pl.col("unit_id").is_in([r[0] for r in inside]))
    return out
