"""What the 责任清单's signals are measured on: per person and month, what each member
of the six-level team did; and the reports, matters, pairs and ratings a duty's share
is taken of (docs/metrics.md, 责任落实).

Every query is scoped by the person's (or the unit's) village and bounded by the window
of the periods due (:func:`metrics.duty_periods.window_start`); each runs once per page
view inside a :func:`metrics.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from metrics.batch_cache import fetch_once
from metrics.duty_periods import window_start
from metrics.filters import Filter
from store.contracts import ATTENDANCE_STATUSES
from store.duty_catalogue import TEAM_ROLES

PRESENT = ATTENDANCE_STATUSES[0]
MONTH = "CAST(date_trunc('month', {}) AS DATE)"

PEOPLE = """SELECT p.person_id, p.name, p.role, p.village_id, p.subgrid_id,
    p.active_from, p.active_to
FROM person p
WHERE list_contains($roles, p.role) AND ($village IS NULL OR p.village_id = $village)
ORDER BY p.person_id"""

# Activities a person organised, and those they attended (出席) or organised, per type.
ORGANISED = f"""SELECT a.organizer_id AS person_id, {MONTH.format("a.activity_date")} AS month,
    a.activity_type, count(*) AS n
FROM activity a JOIN person p ON p.person_id = a.organizer_id
WHERE a.activity_date >= $since AND a.activity_date < $until
  AND list_contains($roles, p.role) AND ($village IS NULL OR p.village_id = $village)
GROUP BY ALL"""

ATTENDED = f"""SELECT x.person_id, {MONTH.format("a.activity_date")} AS month, a.activity_type,
    count(DISTINCT a.activity_id) AS n
FROM (SELECT person_id, activity_id FROM attendance WHERE status = $present
      UNION ALL SELECT organizer_id, activity_id FROM activity WHERE organizer_id IS NOT NULL) x
JOIN activity a ON a.activity_id = x.activity_id
JOIN person p ON p.person_id = x.person_id
WHERE a.activity_date >= $since AND a.activity_date < $until
  AND list_contains($roles, p.role) AND ($village IS NULL OR p.village_id = $village)
GROUP BY ALL"""

REPORTED = f"""SELECT r.reporter_id AS person_id, {MONTH.format("r.reported_at")} AS month,
    count(*) AS n
FROM report r JOIN person p ON p.person_id = r.reporter_id
WHERE r.reported_at >= $since AND r.reported_at < $until
  AND ($village IS NULL OR p.village_id = $village)
GROUP BY ALL"""

# A sub-grid's reports: accepted (受理) how fast, fed back (反馈) how fast, discussed.
REPORTS = """SELECT r.report_id, r.subgrid_id, s.village_id, r.reported_at,
    date_diff('second', r.reported_at, r.accepted_at) / 3600.0 AS accept_h,
    r.escalated_at, date_diff('second', r.verified_at, r.escalated_at) / 3600.0 AS forward_h,
    r.meeting_id
FROM report r JOIN subgrid s ON s.subgrid_id = r.subgrid_id
WHERE ((r.reported_at >= $since AND r.reported_at < $until)
       OR (r.escalated_at >= $since AND r.escalated_at < $until))
  AND ($village IS NULL OR s.village_id = $village)"""

DECISIONS = """SELECT matter_id, village_id, supervised_on, proposed_on, resolved_on,
    published_on, date_diff('day', resolved_on, published_on) AS publish_days
FROM decision
WHERE proposed_on < $until AND (proposed_on >= $since OR resolved_on >= $since)
  AND ($village IS NULL OR village_id = $village)"""

# A notice without its issuer is the village's: its 总网格长 on the roll that day.
NOTICES = f"""SELECT coalesce(n.issuer_id, h.person_id) AS person_id,
    {MONTH.format("n.issued_on")} AS month, count(*) AS n
FROM study_notice n
LEFT JOIN person h ON n.issuer_id IS NULL AND h.village_id = n.village_id
    AND h.role = '总网格长' AND h.active_from <= n.issued_on
    AND (h.active_to IS NULL OR h.active_to >= n.issued_on)
WHERE n.issued_on >= $since AND n.issued_on < $until
  AND ($village IS NULL OR n.village_id = $village)
GROUP BY ALL"""

PAIRS = """SELECT pair_id, mentor_id AS person_id, active_from, active_to
FROM pairing WHERE mentor_id IS NOT NULL AND ($village IS NULL OR village_id = $village)"""

# The months in which a pair's two members attended (出席) one same activity.
PAIR_MEETINGS = f"""SELECT DISTINCT pr.pair_id, {MONTH.format("a.activity_date")} AS month
FROM pairing pr
JOIN attendance m ON m.person_id = pr.member_id AND m.status = $present
JOIN attendance t ON t.activity_id = m.activity_id AND t.person_id = pr.mentor_id
    AND t.status = $present
JOIN activity a ON a.activity_id = m.activity_id
WHERE a.activity_date >= $since AND a.activity_date < $until
  AND a.activity_date >= pr.active_from
  AND (pr.active_to IS NULL OR a.activity_date <= pr.active_to)
  AND ($village IS NULL OR pr.village_id = $village)"""

RATINGS = """SELECT r.period, r.person_id, r.duty_id, r.result
FROM duty_rating r JOIN person p ON p.person_id = r.person_id
WHERE $village IS NULL OR p.village_id = $village"""


@dataclass(frozen=True)
class DutyFacts:
    """The frames the duty signals are measured on (see the queries above)."""

    people: pl.DataFrame
    organised: pl.DataFrame
    attended: pl.DataFrame
    reported: pl.DataFrame
    reports: pl.DataFrame
    decisions: pl.DataFrame
    notices: pl.DataFrame
    pairs: pl.DataFrame
    pair_meetings: pl.DataFrame
    ratings: pl.DataFrame


def fetch_facts(con: duckdb.DuckDBPyConnection, f: Filter) -> DutyFacts:
    """Every fact the duties due in ``f`` are measured on (``f.village_id`` scopes)."""
    values = {
        "since": window_start(f),
        "until": f.end_exclusive,
        "village": f.village_id,
        "roles": list(TEAM_ROLES),
        "present": PRESENT,
    }

    def run(sql: str, bound: dict) -> pl.DataFrame:
        return con.sql(sql, params=bound).pl()

    def get(sql: str) -> pl.DataFrame:
        return fetch_once(sql, {k: v for k, v in values.items() if f"${k}" in sql}, run)

    return DutyFacts(
        people=get(PEOPLE),
        organised=get(ORGANISED),
        attended=get(ATTENDED),
        reported=get(REPORTED),
        reports=get(REPORTS),
        decisions=get(DECISIONS),
        notices=get(NOTICES),
        pairs=get(PAIRS),
        pair_meetings=get(PAIR_MEETINGS),
        ratings=get(RATINGS),
    )
