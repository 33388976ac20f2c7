"""The six-level team's posts: who holds them, which are vacant, who has no sub-grid
(docs/metrics.md, 责任落实 — 空缺岗位).

Posts are counted on the range's last day (the team as it stands at the end of the
range): a village post (督导员, 总网格长, 网格指导员) is held by the people of that role
on the roll whose 村居编号 is the village; a sub-grid post by those whose 子网格编号 is
the sub-grid. A post needs ``count`` people, or one per ``members_per_post`` party
members of the unit when that is more (duties.toml). Vacant = needed − held, never
below 0. A person of a sub-grid role (or a rank-and-file 党员) without a 子网格编号 is
未分配子网格: on the roll, but in no sub-grid's team and no sub-grid's denominators.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.filters import Filter
from metrics.scope import scoped
from store.duty_catalogue import DutyCatalogue, read_catalogue

# The post that answers for a unit (the owner of its alerts and 督办 items).
OWNER_ROLES = {"village": "总网格长", "subgrid": "子网格长"}

POST_HOLDERS = {
    level: f"""SELECT {column} AS unit_id, min(person_id) AS owner_id,
    arg_min(name, person_id) AS owner
FROM person
WHERE role = $role AND {column} IS NOT NULL
  AND ($village::VARCHAR IS NULL OR village_id = $village)
  AND active_from <= last_day($end::DATE) AND (active_to IS NULL OR active_to >= $start::DATE)
GROUP BY ALL"""
    for level, column in (("village", "village_id"), ("subgrid", "subgrid_id"))
}

ON_ROLL = "p.active_from <= $day AND (p.active_to IS NULL OR p.active_to >= $day)"

UNITS = f"""SELECT v.village_id, v.name AS village_name, s.subgrid_id, s.name AS subgrid_name,
    (SELECT count(*) FROM person p WHERE p.subgrid_id = s.subgrid_id AND p.is_party_member
        AND p.role <> '督导员' AND {ON_ROLL}) AS members
FROM village v LEFT JOIN subgrid s ON s.village_id = v.village_id
WHERE $village IS NULL OR v.village_id = $village
ORDER BY v.village_id, s.subgrid_id"""

HOLDERS = f"""SELECT p.village_id, p.subgrid_id, p.role, count(*) AS held
FROM person p
WHERE {ON_ROLL} AND ($village IS NULL OR p.village_id = $village)
GROUP BY ALL"""

UNASSIGNED = f"""SELECT p.person_id, p.name, p.village_id, v.name AS village_name, p.role,
    p.active_from
FROM person p JOIN village v ON v.village_id = p.village_id
WHERE {ON_ROLL} AND p.subgrid_id IS NULL AND NOT list_contains($village_roles, p.role)
  AND ($village IS NULL OR p.village_id = $village)
ORDER BY p.village_id, p.person_id"""

POST_SCHEMA = {
    "village_id": pl.String,
    "village_name": pl.String,
    "subgrid_id": pl.String,
    "subgrid_name": pl.String,
    "role": pl.String,
    "needed": pl.Int64,
    "held": pl.Int64,
    "vacant": pl.Int64,
}


def _reference_day(f: Filter) -> date:
    """The day the team is counted on: the last day of ``f``'s range."""
    return f.end_exclusive - timedelta(days=1)


def _run(con: duckdb.DuckDBPyConnection):
    def run(sql: str, values: dict) -> pl.DataFrame:
        return con.sql(sql, params=values).pl()

    return run


@scoped
def posts(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """Every post of every unit in scope: village_id, village_name, subgrid_id and
    subgrid_name (null for a village post), role, needed, held, vacant."""
    catalogue = catalogue or read_catalogue()
    values = {"day": _reference_day(f), "village": f.village_id}
    units = fetch_once(UNITS, values, _run(con))
    held_now = holders(con, f)
    frames = []
    for post in catalogue.posts:
        if post.per == "village":
            unit = units.select("village_id", "village_name").unique(maintain_order=True)
            unit = unit.with_columns(
                pl.lit(None, pl.String).alias("subgrid_id"),
                pl.lit(None, pl.String).alias("subgrid_name"),
                pl.lit(post.count, pl.Int64).alias("needed"),
            )
            held = (
                held_now.filter(pl.col("role") == post.role)
                .group_by("village_id")
                .agg(pl.col("held").sum())
            )
            keys = ["village_id"]
        else:
            unit = units.filter(pl.col("subgrid_id").is_not_null())
            needed = pl.lit(post.count, pl.Int64)
            if post.members_per_post:
                by_members = (pl.col("members") / post.members_per_post).ceil().cast(pl.Int64)
                needed = pl.max_horizontal(needed, by_members)
            unit = unit.with_columns(needed.alias("needed")).drop("members")
            held = held_now.filter(
                (pl.col("role") == post.role) & pl.col("subgrid_id").is_not_null()
            ).select("subgrid_id", "held")
            keys = ["subgrid_id"]
        frame = unit.join(held, on=keys, how="left").with_columns(
            pl.lit(post.role).alias("role"), pl.col("held").fill_null(0).cast(pl.Int64)
        )
        frames.append(
            frame.with_columns((pl.col("needed") - pl.col("held")).clip(0).alias("vacant"))
        )
    if not frames:
        return pl.DataFrame(schema=POST_SCHEMA)
    return pl.concat([fr.select(list(POST_SCHEMA)).cast(POST_SCHEMA) for fr in frames])


@scoped
def holders(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    """People on the roll at the range's end per village, sub-grid (null: none) and
    role: village_id, subgrid_id, role, held."""
    values = {"day": _reference_day(f), "village": f.village_id}
    return fetch_once(HOLDERS, values, _run(con))


@scoped
def vacancies(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """The posts with fewer people than needed (columns as :func:`posts`)."""
    return posts(con, f, catalogue).filter(pl.col("vacant") > 0)


@scoped
def unassigned(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """People on the roll at the range's end with no sub-grid though their role has one:
    person_id, name, village_id, village_name, role, active_from."""
    catalogue = catalogue or read_catalogue()
    village_roles = [p.role for p in catalogue.posts if p.per == "village"]
    values = {"day": _reference_day(f), "village": f.village_id, "village_roles": village_roles}
    return fetch_once(UNASSIGNED, values, _run(con))


@scoped
def post_holders(con: duckdb.DuckDBPyConnection, f: Filter, level: str) -> pl.DataFrame:
    """``unit_id, owner_id, owner`` of the units of ``level`` ('village' or 'subgrid')
    in ``f``'s village (all without one): the person holding the unit's
    :data:`OWNER_ROLES` post at some time in ``f``'s range, the first by id when
    several did; units without one are absent."""
    values = {"role": OWNER_ROLES[level], "end": f.end, "start": f.start, "village": f.village_id}
    # Alerts ask for a level's holders more than once per page view: shared in a batch.
    return fetch_once(POST_HOLDERS[level], values, _run(con))
