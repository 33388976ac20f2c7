"""党员先锋指数 member by member, as the CLI's ``vanguard`` lists it, and how the
民主评议 grades spread over the members.

The index is pooled over the range (the official period is the half-year), not a mean
of months; its parts are points out of the weights in ``data/config/indices.toml``.
Defined in docs/metrics.md (党员先锋指数); computed by :mod:`metrics.vanguard_index`.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.config import Config
from metrics.filters import Filter
from metrics.formulas import label_for
from metrics.query_context import Context
from metrics.scope import scoped
from metrics.vanguard_index import party_members, vanguard_by_member

# The CLI's names of the parts (``role`` is 作用发挥, the contribution).
PART_FIELDS = {
    "attendance_pts": "attendance",
    "study_pts": "study",
    "role_pts": "contribution",
    "survey_pts": "survey",
}


@scoped
def member_vanguard(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """先锋指数 per party member on a roll in scope during the range: ``person_id,
    name, subgrid_id, village_id, attendance, study, contribution, survey`` (the parts'
    points; null: left out and the others rescaled), ``deductions, vanguard_index,
    grade, survey_status, months_on_roll``; by village, sub-grid and member."""
    ctx = Context.of(con, f, config, rollups)
    return (
        ctx.range_rows(vanguard_by_member(ctx))
        .join(party_members(ctx).select("person_id", "name"), on="person_id", how="left")
        .join(ctx.subgrids.select("subgrid_key", "subgrid_id", "village_id"), on="subgrid_key")
        .rename(PART_FIELDS)
        .with_columns(grade=label_for(ctx.config.vanguard.grades, "vanguard_index"))
        .select(
            "person_id",
            "name",
            "subgrid_id",
            "village_id",
            *PART_FIELDS.values(),
            "deductions",
            "vanguard_index",
            "grade",
            "survey_status",
            "months_on_roll",
        )
        .sort("village_id", "subgrid_id", "person_id")
    )


@scoped
def grade_distribution(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    *,
    config: Config | None = None,
    rollups: bool = True,
) -> pl.DataFrame:
    """How many members of the scope get each grade over the range: ``grade, members,
    share`` (of the members graded), every configured grade from the best."""
    ctx = Context.of(con, f, config, rollups)
    members = member_vanguard(con, f, config=ctx.config, rollups=rollups)
    labels = [t.label for t in ctx.config.vanguard.grades]
    counts = dict(members.group_by("grade").len().iter_rows())
    graded = sum(counts.get(g, 0) for g in labels)
    return pl.DataFrame(
        {
            "grade": labels,
            "members": [counts.get(g, 0) for g in labels],
            "share": [counts.get(g, 0) / graded if graded else None for g in labels],
        },
        schema={"grade": pl.String, "members": pl.Int64, "share": pl.Float64},
    )
