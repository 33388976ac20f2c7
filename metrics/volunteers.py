"""网格志愿者 and the 结对单位 programmes (docs/metrics.md, 阵地与志愿者).

A volunteer (网格角色 网格志愿者) counts in a range when on the roll at some time in
it; a *participation* is a sign-in with status 出席 at an activity of the range; a
volunteer is *active* with at least one participation or one 民情 report filed in the
range. A 结对单位 programme (城乡结对, 双百结对, 企村结对) holds the units and volunteers
its 结对名册 rows name, in force at some time in the range.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.duty_facts import PRESENT
from metrics.filters import Filter
from metrics.scope import scoped
from store.contracts import UNIT_PAIR_TYPES, VOLUNTEER_TYPES

ON_ROLL = "p.active_from < $until AND (p.active_to IS NULL OR p.active_to >= $since)"

VOLUNTEERS = f"""SELECT p.person_id, p.village_id, v.town_id, v.town_name, v.name AS village_name,
    coalesce(p.volunteer_type, '其他') AS kind,
    (SELECT count(*) FROM attendance t JOIN activity a ON a.activity_id = t.activity_id
        WHERE t.person_id = p.person_id AND t.status = $present
          AND a.activity_date >= $since AND a.activity_date < $until) AS participations,
    (SELECT count(*) FROM report r WHERE r.reporter_id = p.person_id
        AND r.reported_at >= $since AND r.reported_at < $until) AS reports
FROM person p JOIN village v ON v.village_id = p.village_id
WHERE p.role = '网格志愿者' AND {ON_ROLL} AND ($village IS NULL OR p.village_id = $village)"""

PROGRAMME_ROWS = """SELECT pr.pair_type AS programme, pr.partner_unit, pr.village_id, pr.member_id
FROM pairing pr
WHERE list_contains($programmes, pr.pair_type)
  AND pr.active_from < $until AND (pr.active_to IS NULL OR pr.active_to >= $since)
  AND ($village IS NULL OR pr.village_id = $village)"""


def _get(con: duckdb.DuckDBPyConnection, f: Filter, sql: str) -> pl.DataFrame:
    values = {
        "since": f.start,
        "until": f.end_exclusive,
        "village": f.village_id,
        "present": PRESENT,
        "programmes": list(UNIT_PAIR_TYPES),
    }
    bound = {k: v for k, v in values.items() if f"${k}" in sql}
    return fetch_once(sql, bound, lambda s, v: con.sql(s, params=v).pl())


def _counts(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("volunteers"),
        ((pl.col("participations") > 0) | (pl.col("reports") > 0))
        .sum()
        .cast(pl.Int64)
        .alias("active"),
        pl.col("participations").sum().cast(pl.Int64),
        pl.col("reports").sum().cast(pl.Int64),
    )


@scoped
def volunteer_summary(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    """Per unit (the town; each village at ``f.level`` village or sub-grid, or with a
    village chosen) and
    volunteer kind (the CLI's ``volunteers``): unit_id, unit_name, kind, volunteers,
    active, participations, reports, active_share — every kind, zeros where none."""
    people = _get(con, f, VOLUNTEERS)
    if f.level == "town" and f.village_id is None:
        people = people.with_columns(unit_id="town_id", unit_name="town_name")
    else:
        people = people.with_columns(unit_id="village_id", unit_name="village_name")
    units = people.select("unit_id", "unit_name").unique()
    kinds = pl.DataFrame({"kind": list(VOLUNTEER_TYPES)})
    grid = units.join(kinds, how="cross")
    out = grid.join(_counts(people, ["unit_id", "kind"]), on=["unit_id", "kind"], how="left")
    out = out.with_columns(
        pl.col(c).fill_null(0) for c in ("volunteers", "active", "participations", "reports")
    ).with_columns(
        pl.when(pl.col("volunteers") > 0)
        .then(pl.col("active") / pl.col("volunteers"))
        .alias("active_share")
    )
    order = {k: i for i, k in enumerate(VOLUNTEER_TYPES)}
    return out.sort("unit_id", pl.col("kind").replace_strict(order, return_dtype=pl.Int64))


@scoped
def programme_summary(con: duckdb.DuckDBPyConnection, f: Filter) -> pl.DataFrame:
    """Per 结对单位 programme: programme, units, villages, volunteers, active,
    participations (its volunteers' 出席 in the range), every programme listed."""
    rows = _get(con, f, PROGRAMME_ROWS)
    people = _get(con, f, VOLUNTEERS).select("person_id", "participations", "reports")
    joined = rows.join(people, left_on="member_id", right_on="person_id", how="left").with_columns(
        pl.col("participations").fill_null(0), pl.col("reports").fill_null(0)
    )
    per = joined.group_by("programme").agg(
        pl.col("partner_unit").n_unique().cast(pl.Int64).alias("units"),
        pl.col("village_id").n_unique().cast(pl.Int64).alias("villages"),
        pl.col("member_id").n_unique().cast(pl.Int64).alias("volunteers"),
        ((pl.col("participations") > 0) | (pl.col("reports") > 0))
        .sum()
        .cast(pl.Int64)
        .alias("active"),
        pl.col("participations").sum().cast(pl.Int64),
    )
    listed = pl.DataFrame({"programme": list(UNIT_PAIR_TYPES)})
    return listed.join(per, on="programme", how="left").with_columns(
        pl.col(c).fill_null(0)
        for c in ("units", "villages", "volunteers", "active", "participations")
    )
