"""The six-level team as a chain: per level (role) and village, its people, vacant
posts and the duties due and done over a range (docs/metrics.md, 责任落实).

``people`` and ``vacant`` are counted on the range's last day (:mod:`metrics.posts`);
``duties_due``/``duties_done`` sum every (person, duty, period) due in the range
(:mod:`metrics.duty_signals`), so a person who left during the range still counts for
the periods they served. 履职率 (``fulfilment``) = done ÷ due, empty when nothing was due.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.duties import duty_status
from metrics.filters import Filter
from metrics.posts import holders, posts
from metrics.registry import villages
from metrics.scope import scoped
from store.duty_catalogue import TEAM_ROLES, DutyCatalogue

LEVEL_NUMBERS = {role: i for i, role in enumerate(TEAM_ROLES, start=1)}
TEAM_COLUMNS = ("people", "vacant", "duties_due", "duties_done")


def _fulfilment(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("duties_due") > 0)
        .then(pl.col("duties_done") / pl.col("duties_due"))
        .otherwise(None)
        .alias("fulfilment")
    )


@scoped
def team_fulfilment(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """Per village in scope and level (the CLI's ``team``): village_id, village_name,
    role, level (1 督导员 … 6 网格志愿者), people, vacant, duties_due, duties_done,
    fulfilment — every village × level, zeros where none."""
    grid = (
        villages(con, f.village_id)
        .select("village_id", village_name="name")
        .join(pl.DataFrame({"role": list(TEAM_ROLES)}), how="cross")
    )
    people = (
        holders(con, f).group_by("village_id", "role").agg(pl.col("held").sum().alias("people"))
    )
    vacant = posts(con, f, catalogue).group_by("village_id", "role").agg(pl.col("vacant").sum())
    duties = (
        duty_status(con, f, catalogue)
        .group_by("village_id", "role")
        .agg(
            pl.col("due").sum().alias("duties_due"),
            pl.col("done").sum().alias("duties_done"),
        )
    )
    out = grid
    for part in (people, vacant, duties):
        out = out.join(part, on=["village_id", "role"], how="left")
    out = out.with_columns(
        pl.col("role").replace_strict(LEVEL_NUMBERS, return_dtype=pl.Int64).alias("level"),
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in TEAM_COLUMNS),
    )
    return _fulfilment(out).sort("village_id", "level")


@scoped
def level_chain(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """The six levels, top down, for the scope (the town, or ``f``'s village): role,
    level, people, vacant, duties_due, duties_done, fulfilment."""
    per_village = team_fulfilment(con, f, catalogue)
    chain = per_village.group_by("role", "level").agg(pl.col(c).sum() for c in TEAM_COLUMNS)
    return _fulfilment(chain).sort("level")


@scoped
def level_people(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    role: str,
    catalogue: DutyCatalogue | None = None,
) -> pl.DataFrame:
    """The people of one level held to a duty in the range, weakest first: person_id,
    name, village_id, subgrid_id, duties_due, duties_done, unrated, fulfilment."""
    rows = duty_status(con, f, catalogue).filter(pl.col("role") == role)
    people = rows.group_by("person_id", "name", "village_id", "subgrid_id").agg(
        pl.col("due").sum().cast(pl.Int64).alias("duties_due"),
        pl.col("done").sum().cast(pl.Int64).alias("duties_done"),
        (pl.col("status") == "待评价").sum().cast(pl.Int64).alias("unrated"),
    )
    return _fulfilment(people).sort("fulfilment", "person_id", nulls_last=True)
