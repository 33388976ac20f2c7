"""Maintained rollup tables the metrics layer reads at city scale.

Rollups are derived data, refreshed inside every load's transaction (and after an
undo) so they are never stale. ``create_rollups`` makes the tables; ``refresh``
recomputes the rows of the months a load touched (``None`` = every month).

The monthly tables are keyed by the first day of a *data month*: a calendar month
holding at least one activity. A month nobody has uploaded is absent, not zero.

``ru_person``, ``ru_subgrid``
    ``person_key`` / ``subgrid_key``: dense integers (by id) for every person and
    sub-grid; the other rollups carry them because joining and grouping on integers
    is two to three times faster than on text ids at city scale.
``ru_member_month``
    One row per party member with a sub-grid and data month, from the first month
    the member is on the roll (DESIGN §7.3) to the last data month — rows go on after
    the member leaves (``on_roll`` false) so that every range has an end row. Per
    month: ``on_roll``, ``reached`` (study). Cumulative since the member's first row
    (``c_*``): months on the roll, months reached, 志愿服务 attended (any sub-grid),
    and per activity type ``k``: ``c_present_k``/``c_leave_k`` (the member's 出席 and
    请假 at activities of the member's own sub-grid) and ``c_held_k`` (the own
    sub-grid's activities held in the months on the roll). A per-member sum over any
    range is then one row minus another — no aggregation over months at query time.
``ru_subgrid_month``
    One row per registry sub-grid and data month: ``members`` on the roll, members
    ``reached``/``reached_home``/with a 志愿服务 attendance (``volunteer_members``),
    and per type ``held_k`` (the sub-grid's own activities), ``present_k``/``leave_k``
    (its members' attendance at them).
``ru_village_month``
    Per village and data month with activities: ``held_k`` over all of the village's
    activities (village-level and sub-grid-level).
``ru_report``
    One row per report with its village and town, reported month and durations in
    hours (受理/核实/办结 − 上报). Rebuilt whole on every refresh.
``ru_month_state``
    A fingerprint of each data month's activities and sign-ins, so that a refresh
    recomputes only the months that really changed.
``ru_survey``
    The survey scores of sub-grids with the first and last month their period covers.
    Rebuilt whole on every refresh (sub-grid rows are a small share of the surveys).
``ru_deduction``
    The deductions with the month and the keys of the unit: the sub-grid's, or a
    person's own and their sub-grid's. Rebuilt whole on every refresh.

The rollups hold counts per activity type and raw durations, never anything the
metric configuration decides (which types are 组织生活, what 请假 is worth, the 办结
limits), so editing ``data/config/*.toml`` never makes them stale.

The SQL that fills each table is also what :mod:`metrics` runs directly when the
rollups are absent or not built (:func:`direct_relations`), so both paths share one
definition. Every value is a bound parameter (:func:`params`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

import duckdb

from etl.contracts import ACTIVITY_TYPES

# Bump when a rollup table's layout or meaning changes: create_rollups then rebuilds.
ROLLUP_VERSION = "7"
STATE_KEY = "rollup_state"  # meta: ROLLUP_VERSION when complete, else "pending"
ROSTER_KEY = "rollup_roster"  # meta: fingerprint of the roster the rollups were built on

# ASCII column stems for the activity types (column names must be identifiers).
TYPE_KEYS: dict[str, str] = dict(
    zip(
        ACTIVITY_TYPES,
        (
            "party_day",
            "study",
            "council",
            "reception",
            "patrol",
            "meeting",
            "org_meeting",
            "volunteer",
            "other",
        ),
        strict=True,
    )
)
STUDY_TYPE = "学习教育"
VOLUNTEER_TYPE = "志愿服务"
PRESENT, LEAVE = "出席", "请假"
REFUSED = "不予受理"
HOME_MODE = "送学上门"

MONTHLY_TABLES = ("ru_member_month", "ru_subgrid_month", "ru_village_month")
# Rebuilt whole on every refresh (small, and a load may touch any of their rows).
WHOLE_TABLES = ("ru_report", "ru_survey", "ru_deduction")
TABLES = ("ru_person", "ru_subgrid", *MONTHLY_TABLES, *WHOLE_TABLES, "ru_month_state")


def params() -> dict[str, object]:
    """The values the rollup SQL binds: activity types, statuses and the home mode."""
    out: dict[str, object] = {f"t_{k}": t for t, k in TYPE_KEYS.items()}
    out |= {
        "t_study_type": STUDY_TYPE,
        "t_volunteer_type": VOLUNTEER_TYPE,
        "s_present": PRESENT,
        "s_leave": LEAVE,
        "s_refused": REFUSED,
        "m_home": HOME_MODE,
    }
    return out


def bound(sql: str, values: dict) -> dict:
    """The subset of ``values`` that ``sql`` names (DuckDB rejects extra parameters)."""
    return {k: values[k] for k in dict.fromkeys(re.findall(r"\$(\w+)", sql))}


def each_type(fmt: str, sep: str = ",\n    ") -> str:
    """``fmt`` (with ``{k}``) repeated for every activity type key."""
    return sep.join(fmt.format(k=k) for k in TYPE_KEYS.values())


EPOCH = "DATE '0001-01-01'"  # "from the first data month on"
SUBGRID_KEYS_SELECT = (
    "SELECT (row_number() OVER (ORDER BY subgrid_id))::INTEGER AS subgrid_key, subgrid_id "
    "FROM subgrid"
)
PERSON_KEYS_SELECT = (
    "SELECT (row_number() OVER (ORDER BY person_id))::INTEGER AS person_key, person_id FROM person"
)


def months_cte(from_month: str) -> str:
    """``ru_months``: the data months from ``from_month`` (a SQL expression) on."""
    return f"""ru_months AS (
    SELECT month
    FROM (SELECT DISTINCT date_trunc('month', activity_date)::DATE AS month FROM activity)
    WHERE month >= {from_month}
)"""


def held_cte(from_month: str) -> str:
    """``ru_held``: each sub-grid's own activities per data month and type."""
    held = each_type("count(*) FILTER (WHERE activity_type = $t_{k}) AS held_{k}", ",\n        ")
    return f"""ru_held AS (
    SELECT date_trunc('month', activity_date)::DATE AS month, subgrid_id,
        {held}
    FROM activity
    WHERE subgrid_id IS NOT NULL AND activity_date >= {from_month}
    GROUP BY ALL
)"""


def values_ctes(person_keys: str, from_month: str, subgrid_keys: str) -> str:
    """CTEs ending in ``ru_values``: per member and data month, that month's numbers.

    Rows start with the member's first month on the roll; after the member leaves
    they go on with ``on_roll`` false and zeros. ``from_month`` is a SQL expression:
    data months before it are left out.
    """
    per_type = each_type(
        "count(*) FILTER (WHERE a.own AND a.activity_type = $t_{k} AND a.status = $s_present)"
        " AS present_{k},\n"
        "        count(*) FILTER (WHERE a.own AND a.activity_type = $t_{k}"
        " AND a.status = $s_leave) AS leave_{k}",
        ",\n        ",
    )
    on_roll = each_type(
        "CASE WHEN r.on_roll THEN coalesce(a.present_{k}, 0) ELSE 0 END AS present_{k},\n"
        "        CASE WHEN r.on_roll THEN coalesce(a.leave_{k}, 0) ELSE 0 END AS leave_{k},\n"
        "        CASE WHEN r.on_roll THEN coalesce(h.held_{k}, 0) ELSE 0 END AS held_{k}",
        ",\n        ",
    )
    return f"""WITH {months_cte(from_month)},
{held_cte(from_month)},
ru_people AS (
    SELECT k.person_key, p.person_id, p.subgrid_id, sk.subgrid_key, p.active_from, p.active_to
    FROM person p
    JOIN {subgrid_keys} sk ON sk.subgrid_id = p.subgrid_id
    JOIN {person_keys} k ON k.person_id = p.person_id
    WHERE p.is_party_member
),
ru_rows AS (
    SELECT m.month, pp.person_key, pp.person_id, pp.subgrid_id, pp.subgrid_key,
        pp.active_to IS NULL OR pp.active_to >= m.month AS on_roll
    FROM ru_people pp
    JOIN ru_months m ON pp.active_from <= last_day(m.month)
),
ru_attended AS (
    SELECT date_trunc('month', act.activity_date)::DATE AS month, t.person_id,
        act.activity_type, t.status, t.mode,
        coalesce(act.subgrid_id = p.subgrid_id, false) AS own
    FROM attendance t
    JOIN activity act ON act.activity_id = t.activity_id
    JOIN person p ON p.person_id = t.person_id
    WHERE p.is_party_member AND act.activity_date >= {from_month}
),
ru_per_member AS (
    SELECT a.month, a.person_id,
        bool_or(a.activity_type = $t_study_type AND a.status = $s_present) AS reached,
        bool_or(a.activity_type = $t_study_type AND a.status = $s_present
                AND a.mode = $m_home) AS reached_home,
        count(*) FILTER (WHERE a.activity_type = $t_volunteer_type
                         AND a.status = $s_present) AS volunteer,
        {per_type}
    FROM ru_attended a
    GROUP BY a.month, a.person_id
),
ru_values AS (
    SELECT r.month, r.person_key, r.subgrid_id, r.subgrid_key, r.on_roll,
        r.on_roll AND coalesce(a.reached, false) AS reached,
        r.on_roll AND coalesce(a.reached_home, false) AS reached_home,
        CASE WHEN r.on_roll THEN coalesce(a.volunteer, 0) ELSE 0 END AS volunteer,
        {on_roll}
    FROM ru_rows r
    LEFT JOIN ru_per_member a ON a.month = r.month AND a.person_id = r.person_id
    LEFT JOIN ru_held h ON h.month = r.month AND h.subgrid_id = r.subgrid_id
)"""


def member_month_select(values: str, base: str | None) -> str:
    """``ru_member_month`` rows from a ``ru_values`` relation.

    ``base`` is a relation of ``ru_member_month`` rows the sums continue from (the last
    data month before the first recomputed one), or ``None`` to start from zero.
    """
    sums = ["months", "reached", "volunteer"]
    sums += [f"{part}_{k}" for part in ("present", "leave", "held") for k in TYPE_KEYS.values()]
    source = {"months": "v.on_roll::INTEGER", "reached": "v.reached::INTEGER"}
    carried = ",\n    ".join(
        f"({'coalesce(b.c_' + s + ', 0) + ' if base else ''}"
        f"sum({source.get(s, 'v.' + s)}) OVER w)::INTEGER AS c_{s}"
        for s in sums
    )
    join = f"LEFT JOIN {base} b ON b.person_key = v.person_key" if base else ""
    return f"""SELECT v.month, v.person_key, v.subgrid_id, v.subgrid_key, v.on_roll, v.reached,
    {carried}
FROM {values} v
{join}
WINDOW w AS (PARTITION BY v.person_key ORDER BY v.month
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"""


def subgrid_month_select(values: str, subgrid_keys: str) -> str:
    """``ru_subgrid_month`` rows from a ``ru_values`` relation (every registry sub-grid).

    Needs ``ru_months`` and ``ru_held`` in scope.
    """
    held = each_type("coalesce(h.held_{k}, 0)::SMALLINT AS held_{k}")
    counts = each_type(
        "sum(present_{k})::INTEGER AS present_{k},\n        sum(leave_{k})::INTEGER AS leave_{k}",
        ",\n        ",
    )
    out = each_type("coalesce(c.present_{k}, 0) AS present_{k}")
    out += ",\n    " + each_type("coalesce(c.leave_{k}, 0) AS leave_{k}")
    return f"""SELECT m.month, s.subgrid_id, s.subgrid_key,
    coalesce(c.members, 0) AS members,
    coalesce(c.reached, 0) AS reached,
    coalesce(c.reached_home, 0) AS reached_home,
    coalesce(c.volunteer_members, 0) AS volunteer_members,
    {held},
    {out}
FROM {subgrid_keys} s
CROSS JOIN ru_months m
LEFT JOIN (
    SELECT month, subgrid_id,
        count(*)::INTEGER AS members,
        count(*) FILTER (WHERE reached)::INTEGER AS reached,
        count(*) FILTER (WHERE reached_home)::INTEGER AS reached_home,
        count(*) FILTER (WHERE volunteer > 0)::INTEGER AS volunteer_members,
        {counts}
    FROM {values}
    WHERE on_roll
    GROUP BY month, subgrid_id
) c ON c.month = m.month AND c.subgrid_id = s.subgrid_id
LEFT JOIN ru_held h ON h.month = m.month AND h.subgrid_id = s.subgrid_id"""


def village_month_select(from_month: str) -> str:
    """``ru_village_month`` rows: activities per village, data month and type."""
    held = each_type("(count(*) FILTER (WHERE activity_type = $t_{k}))::SMALLINT AS held_{k}")
    return f"""SELECT date_trunc('month', activity_date)::DATE AS month, village_id,
    {held}
FROM activity
WHERE activity_date >= {from_month}
GROUP BY ALL"""


# Per report: unit ids and durations (hours), independent of the configuration.
REPORT_SELECT = """SELECT r.report_id, r.subgrid_id, sk.subgrid_key, s.village_id, v.town_id,
    r.category, pk.person_key AS reporter_key,
    r.reporter_id, r.summary, r.status, coalesce(r.status = $s_refused, false) AS refused,
    date_trunc('month', r.reported_at)::DATE AS month,
    r.reported_at, r.accepted_at, r.verified_at, r.resolved_at,
    epoch(r.accepted_at - r.reported_at) / 3600.0 AS accept_h,
    epoch(r.verified_at - r.reported_at) / 3600.0 AS verify_h,
    epoch(r.resolved_at - r.reported_at) / 3600.0 AS resolve_h,
    r.satisfaction
FROM report r
JOIN subgrid s ON s.subgrid_id = r.subgrid_id
JOIN {subgrid_keys} sk ON sk.subgrid_id = r.subgrid_id
JOIN village v ON v.village_id = s.village_id
LEFT JOIN {person_keys} pk ON pk.person_id = r.reporter_id"""

# Survey scores of sub-grids, with the months their period covers (2026H1, 2026Q3,
# 2026 or 2026-05; other spellings are left out).
# Deductions with the keys of the unit they are recorded on: a sub-grid (its key), a
# person (their key and sub-grid key), or anything else (village, town: no keys).
DEDUCTION_SELECT = """SELECT d.unit_id, date_trunc('month', d.deduction_date)::DATE AS month,
    d.deduction_date, d.points::DOUBLE AS points,
    coalesce(sk.subgrid_key, psk.subgrid_key) AS subgrid_key,
    sk.subgrid_key IS NOT NULL AS on_subgrid,
    pk.person_key
FROM deduction d
LEFT JOIN {subgrid_keys} sk ON sk.subgrid_id = d.unit_id
LEFT JOIN {person_keys} pk ON pk.person_id = d.unit_id
LEFT JOIN person p ON p.person_id = d.unit_id
LEFT JOIN {subgrid_keys} psk ON psk.subgrid_id = p.subgrid_id"""

SURVEY_SELECT = r"""SELECT e.unit_id AS subgrid_id, sk.subgrid_key, e.period, e.index_name,
    e.rater,
    e.score::DOUBLE AS score, p.p_start, p.p_end
FROM evaluation e
JOIN {subgrid_keys} sk ON sk.subgrid_id = e.unit_id
JOIN (
    SELECT period,
        CASE WHEN regexp_full_match(period, '\d{4}H[12]')
                  THEN make_date(y, CASE WHEN period[6] = '1' THEN 1 ELSE 7 END, 1)
             WHEN regexp_full_match(period, '\d{4}Q[1-4]')
                  THEN make_date(y, 3 * period[6]::INTEGER - 2, 1)
             WHEN regexp_full_match(period, '\d{4}') THEN make_date(y, 1, 1)
             WHEN regexp_full_match(period, '\d{4}-(0[1-9]|1[0-2])')
                  THEN make_date(y, period[6:7]::INTEGER, 1)
        END AS p_start,
        CASE WHEN regexp_full_match(period, '\d{4}H[12]')
                  THEN make_date(y, CASE WHEN period[6] = '1' THEN 6 ELSE 12 END, 1)
             WHEN regexp_full_match(period, '\d{4}Q[1-4]')
                  THEN make_date(y, 3 * period[6]::INTEGER, 1)
             WHEN regexp_full_match(period, '\d{4}') THEN make_date(y, 12, 1)
             WHEN regexp_full_match(period, '\d{4}-(0[1-9]|1[0-2])')
                  THEN make_date(y, period[6:7]::INTEGER, 1)
        END AS p_end
    FROM (SELECT DISTINCT period,
                 TRY_CAST(period[1:4] AS INTEGER) AS y FROM evaluation)
) p ON p.period = e.period
WHERE p.p_start IS NOT NULL"""


def direct_relations() -> dict[str, str]:
    """The rollups as subqueries over the base tables (every month), for metrics.

    Same names as the tables; ``metrics`` uses these when the rollups are not ready,
    and the tests compare both paths.
    """
    keys = f"({PERSON_KEYS_SELECT})"
    subgrids = f"({SUBGRID_KEYS_SELECT})"
    ctes = values_ctes(keys, EPOCH, subgrids)
    return {
        "ru_person": keys,
        "ru_subgrid": subgrids,
        "ru_member_month": f"({ctes}\n{member_month_select('ru_values', None)})",
        "ru_subgrid_month": f"({ctes}\n{subgrid_month_select('ru_values', subgrids)})",
        "ru_village_month": f"({village_month_select(EPOCH)})",
        "ru_report": "("
        + REPORT_SELECT.replace("{subgrid_keys}", subgrids).replace("{person_keys}", keys)
        + ")",
        "ru_survey": f"({SURVEY_SELECT.replace('{subgrid_keys}', subgrids)})",
        "ru_deduction": "("
        + DEDUCTION_SELECT.replace("{subgrid_keys}", subgrids).replace("{person_keys}", keys)
        + ")",
    }


def _member_cumulative_ddl() -> str:
    cols = ["c_months", "c_reached", "c_volunteer"]
    cols += [f"c_{part}_{k}" for part in ("present", "leave", "held") for k in TYPE_KEYS.values()]
    return ",\n    ".join(f"{c} INTEGER NOT NULL" for c in cols)


DDL = {
    "ru_subgrid": """CREATE TABLE IF NOT EXISTS ru_subgrid (
    subgrid_key INTEGER NOT NULL,
    subgrid_id VARCHAR NOT NULL
)""",
    "ru_person": """CREATE TABLE IF NOT EXISTS ru_person (
    person_key INTEGER NOT NULL,
    person_id VARCHAR NOT NULL
)""",
    "ru_member_month": f"""CREATE TABLE IF NOT EXISTS ru_member_month (
    month DATE NOT NULL,
    person_key INTEGER NOT NULL,
    subgrid_id VARCHAR NOT NULL,
    subgrid_key INTEGER NOT NULL,
    on_roll BOOLEAN NOT NULL,
    reached BOOLEAN NOT NULL,
    {_member_cumulative_ddl()}
)""",
    "ru_subgrid_month": f"""CREATE TABLE IF NOT EXISTS ru_subgrid_month (
    month DATE NOT NULL,
    subgrid_id VARCHAR NOT NULL,
    subgrid_key INTEGER NOT NULL,
    members INTEGER NOT NULL,
    reached INTEGER NOT NULL,
    reached_home INTEGER NOT NULL,
    volunteer_members INTEGER NOT NULL,
    {each_type("held_{k} SMALLINT NOT NULL")},
    {each_type("present_{k} INTEGER NOT NULL")},
    {each_type("leave_{k} INTEGER NOT NULL")}
)""",
    "ru_village_month": f"""CREATE TABLE IF NOT EXISTS ru_village_month (
    month DATE NOT NULL,
    village_id VARCHAR NOT NULL,
    {each_type("held_{k} SMALLINT NOT NULL")}
)""",
    "ru_report": """CREATE TABLE IF NOT EXISTS ru_report (
    report_id VARCHAR NOT NULL,
    subgrid_id VARCHAR NOT NULL,
    subgrid_key INTEGER NOT NULL,
    village_id VARCHAR NOT NULL,
    town_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    reporter_key INTEGER,
    reporter_id VARCHAR,
    summary VARCHAR,
    status VARCHAR NOT NULL,
    refused BOOLEAN NOT NULL,
    month DATE NOT NULL,
    reported_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    verified_at TIMESTAMP,
    resolved_at TIMESTAMP,
    accept_h DOUBLE,
    verify_h DOUBLE,
    resolve_h DOUBLE,
    satisfaction INTEGER
)""",
    "ru_month_state": """CREATE TABLE IF NOT EXISTS ru_month_state (
    month DATE NOT NULL,
    fingerprint VARCHAR NOT NULL
)""",
    "ru_deduction": """CREATE TABLE IF NOT EXISTS ru_deduction (
    unit_id VARCHAR NOT NULL,
    month DATE NOT NULL,
    deduction_date DATE NOT NULL,
    points DOUBLE NOT NULL,
    subgrid_key INTEGER,
    on_subgrid BOOLEAN NOT NULL,
    person_key INTEGER
)""",
    "ru_survey": """CREATE TABLE IF NOT EXISTS ru_survey (
    subgrid_id VARCHAR NOT NULL,
    subgrid_key INTEGER NOT NULL,
    period VARCHAR NOT NULL,
    index_name VARCHAR NOT NULL,
    rater VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    p_start DATE NOT NULL,
    p_end DATE NOT NULL
)""",
}

# What the member rollup depends on besides activities and attendance: if any of it
# changes, an incremental refresh turns into a full one (whatever months were passed).
ROSTER_FINGERPRINT = """
SELECT concat_ws('/',
    (SELECT count(*) FROM person),
    (SELECT coalesce(sum(hash(person_id, subgrid_id, is_party_member, active_from,
                              active_to)), 0) FROM person),
    (SELECT count(*) FROM subgrid),
    (SELECT coalesce(sum(hash(subgrid_id, village_id)), 0) FROM subgrid))
"""


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0][0] if rows else None


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def rollups_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the rollup tables exist in the current layout and are fully built."""
    return _meta(con, STATE_KEY) == ROLLUP_VERSION


def create_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rollup tables (idempotent).

    Rollups built by an older layout are dropped and recreated empty, marked pending:
    the metrics read the base tables until the next ``refresh`` rebuilds them (an
    incremental refresh turns into a full one then).
    """
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    state = _meta(con, STATE_KEY)
    if state not in (None, ROLLUP_VERSION, "pending"):
        for table in TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        state = None
    for table in TABLES:
        con.execute(DDL[table])
    if state is None:
        _set_meta(con, STATE_KEY, "pending")


# What the monthly rollups of a month are made of: its activities and their sign-ins.
MONTH_FINGERPRINTS = """
WITH acts AS (
    SELECT activity_id, date_trunc('month', activity_date)::DATE AS month,
        hash(activity_id, activity_date, village_id, subgrid_id, activity_type) AS h
    FROM activity
    WHERE activity_date >= $first AND activity_date < $after
      AND date_trunc('month', activity_date)::DATE IN (SELECT unnest($months::DATE[]))
)
SELECT month, concat_ws('/', count(*), sum(h)) AS fingerprint
FROM (
    SELECT month, h FROM acts
    UNION ALL
    SELECT a.month, hash(t.activity_id, t.person_id, t.status, t.mode)
    FROM attendance t JOIN acts a ON a.activity_id = t.activity_id
)
GROUP BY month
"""


def _fingerprints(con: duckdb.DuckDBPyConnection, months: list[date] | None) -> dict[date, str]:
    """Fingerprint of each data month among ``months`` (None: every data month)."""
    if months is None:
        months = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT date_trunc('month', activity_date)::DATE FROM activity"
            ).fetchall()
        ]
    if not months:
        return {}
    last = max(months)
    values = {
        "months": sorted(months),
        "first": min(months),
        "after": date(last.year + last.month // 12, last.month % 12 + 1, 1),
    }
    return dict(con.execute(MONTH_FINGERPRINTS, values).fetchall())


def refresh(con: duckdb.DuckDBPyConnection, months: Collection[date] | None = None) -> None:
    """Recompute rollups for ``months`` (first days of months); ``None`` means all.

    Call it inside every load and undo transaction with the months the load touched
    (any kind of row; an empty collection is fine) or ``None`` for everything. Of the
    given months, only those whose activities or sign-ins really changed (checked by a
    fingerprint per month) cost a recomputation of the monthly rollups — from the
    earliest changed month on, since the member rollup holds running sums; for the
    usual load of the latest month, that month alone. A report load that names many
    months therefore costs one fingerprint pass, not a rebuild. ``ru_report`` and
    ``ru_survey`` are rebuilt whole on every call. The roster and the registry are
    fingerprinted too: if they changed since the last refresh, the refresh is a full
    one whatever ``months`` says.

    Runs inside the caller's transaction: it never begins or commits one.
    """
    roster = con.execute(ROSTER_FINGERPRINT).fetchall()[0][0]
    if months is not None and (not rollups_ready(con) or _meta(con, ROSTER_KEY) != roster):
        months = None
    values = params()
    if months is None:
        for table in TABLES:
            con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO ru_person {PERSON_KEYS_SELECT}")
        con.execute(f"INSERT INTO ru_subgrid {SUBGRID_KEYS_SELECT}")
        _refresh_months(con, EPOCH, None, values)
        changed = _fingerprints(con, None)
    else:
        given = sorted({date(m.year, m.month, 1) for m in months})
        now = _fingerprints(con, given)
        stored = dict(
            con.execute(
                "SELECT month, fingerprint FROM ru_month_state "
                "WHERE month IN (SELECT unnest(?::DATE[]))",
                [given],
            ).fetchall()
        )
        stale = [m for m in given if now.get(m) != stored.get(m)]
        changed = {m: now[m] for m in stale if m in now}
        if stale:
            for table in MONTHLY_TABLES:
                con.execute(f"DELETE FROM {table} WHERE month >= ?", [stale[0]])
            con.execute(
                "DELETE FROM ru_month_state WHERE month IN (SELECT unnest(?::DATE[]))", [stale]
            )
            # After the delete, the latest remaining month is the one sums continue from.
            base = (
                "(SELECT * FROM ru_member_month"
                " WHERE month = (SELECT max(month) FROM ru_member_month))"
            )
            _refresh_months(con, "$from_month", base, values | {"from_month": stale[0]})
    if changed:
        con.execute(
            "INSERT INTO ru_month_state SELECT unnest(?::DATE[]), unnest(?::VARCHAR[])",
            [list(changed), list(changed.values())],
        )
    for table in WHOLE_TABLES:
        con.execute(f"DELETE FROM {table}")
    report = REPORT_SELECT.replace("{subgrid_keys}", "ru_subgrid").replace(
        "{person_keys}", "ru_person"
    )
    survey = SURVEY_SELECT.replace("{subgrid_keys}", "ru_subgrid")
    _insert_sql(con, "ru_report", report, values, "month, subgrid_key, report_id")
    _insert_sql(con, "ru_survey", survey, values, "subgrid_key, period, index_name, rater")
    deduction = DEDUCTION_SELECT.replace("{subgrid_keys}", "ru_subgrid").replace(
        "{person_keys}", "ru_person"
    )
    _insert_sql(con, "ru_deduction", deduction, values, "month, unit_id")
    _set_meta(con, ROSTER_KEY, roster)
    _set_meta(con, STATE_KEY, ROLLUP_VERSION)


def _refresh_months(
    con: duckdb.DuckDBPyConnection, from_month: str, base: str | None, values: dict
) -> None:
    """Insert the monthly rollups of the data months from ``from_month`` on."""
    ctes = values_ctes("ru_person", from_month, "ru_subgrid")
    con.execute("DROP TABLE IF EXISTS ru_values_tmp")
    sql = f"CREATE TEMP TABLE ru_values_tmp AS {ctes} SELECT * FROM ru_values"
    con.execute(sql, bound(sql, values))
    try:
        _insert_sql(
            con,
            "ru_member_month",
            member_month_select("ru_values_tmp", base),
            values,
            "month, subgrid_key, person_key",
        )
        scope = f"WITH {months_cte(from_month)},\n{held_cte(from_month)}\n"
        sql = scope + subgrid_month_select("ru_values_tmp", "ru_subgrid")
        _insert_sql(con, "ru_subgrid_month", sql, values, "month, subgrid_key")
        _insert_sql(
            con, "ru_village_month", village_month_select(from_month), values, "month, village_id"
        )
    finally:
        con.execute("DROP TABLE IF EXISTS ru_values_tmp")


def _insert_sql(
    con: duckdb.DuckDBPyConnection, table: str, select: str, values: dict, order: str
) -> None:
    # Sorted by month then unit: range scans by month skip whole row groups.
    sql = f"INSERT INTO {table} SELECT * FROM ({select}) ORDER BY {order}"
    con.execute(sql, bound(sql, values))
