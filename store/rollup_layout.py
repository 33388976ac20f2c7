"""The layout of the rollup tables: what the ETL writes and the metrics read.

Rollups are derived data, refreshed by :mod:`etl.rollups` inside every load's
transaction (and after an undo) so they are never stale. This module is their
contract: table and column definitions, the packed per-type counts and how to read
them, the SQL that defines each table's rows, and whether the tables are ready.

The monthly tables are keyed by the first day of a *data month*: a calendar month
holding at least one activity. A month nobody has uploaded is absent, not zero. No
table holds running sums: a month's rows depend on that month's activities and
sign-ins (and on the roster) only, so a load rewrites exactly the months it touched.

``ru_subgrid``
    ``subgrid_key``: a dense integer per registry sub-grid, numbered by (village,
    sub-grid id) so that the sub-grids of a village are one contiguous key range (a
    village filter is then a range that DuckDB's zone maps prune on), with its
    ``village_id``.
``ru_member``
    One row per party member with a registry sub-grid: ``person_key`` (by sub-grid,
    then id), ``subgrid_key`` and the months the member is on the roll,
    ``first_month`` … ``last_month`` (null: still on it). docs/metrics.md: on the roll in
    month m when active_from ≤ the month's last day and active_to is empty or ≥ its
    first day, i.e. first_month ≤ m ≤ last_month.
``ru_member_month``
    One row per member and data month on the roll with at least one sign-in (a member
    on the roll without any is absent: zeros): ``reached`` / ``reached_home`` (an 出席
    at a 学习教育 activity, / in mode 送学上门), ``volunteer`` (出席 at 志愿服务, any
    sub-grid) and ``present_even``/``present_odd``/``leave_even``/``leave_odd``: the
    member's 出席 and 请假 at activities of the member's own sub-grid, counted per
    activity type and *packed* — see :data:`FIELD_BITS` and :func:`type_count`.
    Sorted by month, sub-grid, member.
``ru_subgrid_month``
    One row per registry sub-grid and data month: ``members`` on the roll, members
    ``reached``/``reached_home``/with a 志愿服务 attendance (``volunteer_members``), and
    per type ``held_k`` (the sub-grid's own activities), ``present_k``/``leave_k`` (its
    members' attendance at them).
``ru_village_month``
    Per village and data month with activities: ``held_k`` over all of the village's
    activities (village-level and sub-grid-level).
``ru_deduction``
    The deductions with their month, ``item`` and the keys of the unit: the sub-grid's,
    or a person's sub-grid (and member key). Rebuilt whole when the deductions changed.
``ru_survey``
    The survey scores of sub-grids (``person_key`` null) and of party members (their
    ``person_key`` and sub-grid), with the first and last month their period covers.
    Rebuilt whole when the evaluations changed.
Reports have no rollup: the metrics read ``report`` directly (a range of a city's
reports is a few hundred thousand rows, and keeping a copy cost a load of 1M reports
seconds).

The rollups hold counts per activity type and raw facts, never anything the metric
configuration decides (which types are 组织生活, what 请假 is worth, the 办结 limits),
so editing ``data/config/*.toml`` never makes them stale.

The SQL that fills each table is also what :mod:`metrics` runs directly when the
rollups are absent or not built (:func:`direct_relations`), so both paths share one
definition. Every value is a bound parameter (:func:`params`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

import duckdb

from store.contracts import ACTIVITY_TYPES

# Bump when a rollup table's layout or meaning changes: create_rollups then rebuilds.
ROLLUP_VERSION = "10"
STATE_KEY = "rollup_state"  # meta: ROLLUP_VERSION when complete, else "pending"
ROSTER_KEY = "rollup_roster"  # meta: fingerprint of the roster the rollups were built on
SOURCES_KEY = "rollup_sources"  # meta: fingerprints of the deductions and evaluations
# meta: ROLLUP_LAYOUT of the rollup tables present, whatever their state. STATE_KEY
# alone cannot tell: "pending" does not say which layout made the (empty) tables, so a
# database left pending by an older layout used to fail its next refresh ("table
# ru_subgrid has 2 columns but 3 values were supplied").
LAYOUT_KEY = "rollup_layout"

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

# Load kinds whose rows the monthly rollups are made of (the loader's kind names).
MONTHLY_KINDS = frozenset({"activity", "attendance"})

# A member's per-type counts are packed: the nine counts of a status in two HUGEINTs,
# types of even index (in ACTIVITY_TYPES order) in ``*_even`` and odd in ``*_odd``,
# FIELD_BITS bits apart. Summing packed values sums every type at once — one aggregate
# instead of nine (and a quarter of the columns to write), which is most of what a
# large load's refresh costs and what keeps summing a city's members over a range
# fast. A month's count per member and type is at most the activities of that type
# the sub-grid held that month (one sign-in per person and activity), which the
# refresh checks stays below 2**TYPE_BITS; a field then overflows only after summing
# 2**14 such months.
TYPE_BITS = 14
FIELD_BITS = 28
TYPE_LIMIT = 2**TYPE_BITS
TYPE_INDEX = {t: i for i, t in enumerate(ACTIVITY_TYPES)}

# Stands in for "still on the roll" (a null last_month) in range conditions.
OPEN_END = date(9999, 12, 1)

MONTHLY_TABLES = ("ru_member_month", "ru_subgrid_month", "ru_village_month")
KEY_TABLES = ("ru_subgrid", "ru_member")
TABLES = (*KEY_TABLES, *MONTHLY_TABLES, "ru_deduction", "ru_survey")
# Rollup tables of earlier layouts: dropped with the others on a layout change.
FORMER_TABLES = ("ru_person", "ru_report", "ru_month_state")


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
        "activity_types": list(ACTIVITY_TYPES),
        "open_end": OPEN_END,
    }
    return out


def bound(sql: str, values: dict) -> dict:
    """The subset of ``values`` that ``sql`` names (DuckDB rejects extra parameters)."""
    return {k: values[k] for k in dict.fromkeys(re.findall(r"\$(\w+)", sql))}


def each_type(fmt: str, sep: str = ",\n    ") -> str:
    """``fmt`` (with ``{k}``) repeated for every activity type key."""
    return sep.join(fmt.format(k=k) for k in TYPE_KEYS.values())


def packed_column(prefix: str, activity_type: str) -> str:
    """The column (``{prefix}_even`` or ``{prefix}_odd``) holding a type's count."""
    return f"{prefix}_{'odd' if TYPE_INDEX[activity_type] % 2 else 'even'}"


def type_count(prefix: str, activity_type: str) -> str:
    """SQL: the count of ``activity_type`` in the packed columns ``{prefix}_even`` /
    ``{prefix}_odd`` (e.g. ``r.present`` — or sums of them)."""
    shift = FIELD_BITS * (TYPE_INDEX[activity_type] // 2)
    column = packed_column(prefix, activity_type)
    return f"(({column} >> {shift}::HUGEINT) & {2**FIELD_BITS - 1}::HUGEINT)::BIGINT"


DDL = {
    "ru_subgrid": """CREATE TABLE IF NOT EXISTS ru_subgrid (
    subgrid_key INTEGER NOT NULL,
    subgrid_id VARCHAR NOT NULL,
    village_id VARCHAR NOT NULL
)""",
    "ru_member": """CREATE TABLE IF NOT EXISTS ru_member (
    person_key INTEGER NOT NULL,
    person_id VARCHAR NOT NULL,
    subgrid_key INTEGER NOT NULL,
    first_month DATE NOT NULL,
    last_month DATE
)""",
    "ru_member_month": """CREATE TABLE IF NOT EXISTS ru_member_month (
    month DATE NOT NULL,
    subgrid_key INTEGER NOT NULL,
    person_key INTEGER NOT NULL,
    reached BOOLEAN NOT NULL,
    reached_home BOOLEAN NOT NULL,
    volunteer INTEGER NOT NULL,
    present_even HUGEINT NOT NULL,
    present_odd HUGEINT NOT NULL,
    leave_even HUGEINT NOT NULL,
    leave_odd HUGEINT NOT NULL
)""",
    "ru_subgrid_month": f"""CREATE TABLE IF NOT EXISTS ru_subgrid_month (
    month DATE NOT NULL,
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
    "ru_deduction": """CREATE TABLE IF NOT EXISTS ru_deduction (
    unit_id VARCHAR NOT NULL,
    month DATE NOT NULL,
    item VARCHAR NOT NULL,
    points DOUBLE NOT NULL,
    subgrid_key INTEGER,
    on_subgrid BOOLEAN NOT NULL,
    on_person BOOLEAN NOT NULL,
    person_key INTEGER
)""",
    "ru_survey": """CREATE TABLE IF NOT EXISTS ru_survey (
    subgrid_key INTEGER NOT NULL,
    person_key INTEGER,
    index_name VARCHAR NOT NULL,
    rater VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    p_start DATE NOT NULL,
    p_end DATE NOT NULL
)""",
}

# The layout version stored under LAYOUT_KEY: ROLLUP_VERSION (bumped by hand when a
# table's meaning changes) and a digest of the DDL (which changes by itself when a
# column does).
ROLLUP_LAYOUT = (
    ROLLUP_VERSION
    + "/"
    + hashlib.sha256("\n".join(DDL[t] for t in TABLES).encode()).hexdigest()[:12]
)


def read_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0][0] if rows else None


def rollups_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the rollup tables exist in the current layout and are fully built."""
    return read_meta(con, STATE_KEY) == ROLLUP_VERSION
