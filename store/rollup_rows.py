"""The rows of each rollup table, as SQL over the base tables.

What :mod:`etl.rollups` inserts when it refreshes a month, and what the metrics read
directly when the rollups are not built (:func:`direct_relations`): one definition for
both paths. The tables themselves (columns, packing, readiness) are
:mod:`store.rollup_layout`; every value is a bound parameter
(:func:`store.rollup_layout.params`).
"""

from __future__ import annotations

from store.rollup_layout import FIELD_BITS, TYPE_KEYS, each_type, type_count

SUBGRID_KEYS_SELECT = """SELECT
    (row_number() OVER (ORDER BY village_id, subgrid_id))::INTEGER AS subgrid_key,
    subgrid_id, village_id
FROM subgrid"""

MEMBER_SELECT = """SELECT
    (row_number() OVER (ORDER BY k.subgrid_key, p.person_id))::INTEGER AS person_key,
    p.person_id, k.subgrid_key,
    date_trunc('month', p.active_from)::DATE AS first_month,
    date_trunc('month', p.active_to)::DATE AS last_month
FROM person p
JOIN {subgrids} k ON k.subgrid_id = p.subgrid_id
WHERE p.is_party_member"""

# The activities of the months being computed, with their sub-grid key and a one in
# the field of their type (``even_bit``/``odd_bit``, see FIELD_BITS). ``{where}``
# selects the months.
ACTS_SELECT = """SELECT a.activity_id, month, a.village_id, k.subgrid_key, a.activity_type,
    CASE WHEN i % 2 = 0 THEN 1::HUGEINT << ({bits} * (i // 2))::HUGEINT
         ELSE 0::HUGEINT END AS even_bit,
    CASE WHEN i % 2 = 1 THEN 1::HUGEINT << ({bits} * (i // 2))::HUGEINT
         ELSE 0::HUGEINT END AS odd_bit
FROM (SELECT *, date_trunc('month', activity_date)::DATE AS month,
          list_position($activity_types::VARCHAR[], activity_type) - 1 AS i
      FROM activity) a
LEFT JOIN {subgrids} k ON k.subgrid_id = a.subgrid_id
WHERE {where}""".replace("{bits}", str(FIELD_BITS))

# A member's sign-ins of a month while on the roll (the only sign-ins any rollup
# depends on). ``own``: at an activity of the member's own sub-grid.
SIGNINS_FROM = """attendance t
JOIN {acts} a ON a.activity_id = t.activity_id
JOIN {members} m ON m.person_id = t.person_id
WHERE a.month BETWEEN m.first_month AND coalesce(m.last_month, $open_end)"""

# ``t.mode IS NOT DISTINCT FROM``: 参与方式 is optional, and with ``=`` a member whose
# only 学习教育 attendance of a month had none got a NULL ``reached_home``, which the
# NOT NULL column refused: the whole load failed.
MEMBER_MONTH_SELECT = """SELECT a.month, m.subgrid_key, m.person_key,
    bool_or(a.activity_type = $t_study_type AND t.status = $s_present) AS reached,
    bool_or(a.activity_type = $t_study_type AND t.status = $s_present
            AND t.mode IS NOT DISTINCT FROM $m_home) AS reached_home,
    (count(*) FILTER (WHERE a.activity_type = $t_volunteer_type
                      AND t.status = $s_present))::INTEGER AS volunteer,
    {packed}
FROM {signins}
GROUP BY a.month, m.subgrid_key, m.person_key""".replace(
    "{packed}",
    ",\n    ".join(
        f"coalesce(sum(a.{half}_bit) FILTER (WHERE a.subgrid_key = m.subgrid_key"
        f" AND t.status = $s_{status}), 0)::HUGEINT AS {status}_{half}"
        for status in ("present", "leave")
        for half in ("even", "odd")
    ),
)


def subgrid_month_select(acts: str, members: str, member_month: str, subgrids: str) -> str:
    """``ru_subgrid_month`` rows: every sub-grid × every month of ``acts``.

    ``member_month`` holds the member rows of (at least) those months.
    """
    held = each_type("count(*) FILTER (WHERE activity_type = $t_{k}) AS held_{k}", ",\n        ")
    # Packed sums, unpacked once per sub-grid and month (see FIELD_BITS).
    packed = ",\n        ".join(
        f"sum(r.{status}_{half}) AS {status}_{half}"
        for status in ("present", "leave")
        for half in ("even", "odd")
    )
    counts = ",\n    ".join(
        f"coalesce({type_count(f'g.{status}', t)}, 0)::INTEGER AS {status}_{k}"
        for status in ("present", "leave")
        for t, k in TYPE_KEYS.items()
    )
    out = each_type("coalesce(h.held_{k}, 0)::SMALLINT AS held_{k}") + ",\n    " + counts
    return f"""WITH ru_months AS (SELECT DISTINCT month FROM {acts}),
ru_held AS (
    SELECT month, subgrid_key,
        {held}
    FROM {acts}
    WHERE subgrid_key IS NOT NULL
    GROUP BY month, subgrid_key
),
ru_roll AS (
    SELECT o.month, m.subgrid_key, count(*) AS members
    FROM {members} m
    JOIN ru_months o ON o.month BETWEEN m.first_month AND coalesce(m.last_month, $open_end)
    GROUP BY o.month, m.subgrid_key
),
ru_signed AS (
    SELECT r.month, r.subgrid_key,
        count(*) FILTER (WHERE r.reached) AS reached,
        count(*) FILTER (WHERE r.reached_home) AS reached_home,
        count(*) FILTER (WHERE r.volunteer > 0) AS volunteer_members,
        {packed}
    FROM {member_month} r
    WHERE r.month IN (SELECT month FROM ru_months)
    GROUP BY r.month, r.subgrid_key
)
SELECT o.month, s.subgrid_key,
    coalesce(l.members, 0)::INTEGER AS members,
    coalesce(g.reached, 0)::INTEGER AS reached,
    coalesce(g.reached_home, 0)::INTEGER AS reached_home,
    coalesce(g.volunteer_members, 0)::INTEGER AS volunteer_members,
    {out}
FROM {subgrids} s
CROSS JOIN ru_months o
LEFT JOIN ru_roll l ON l.month = o.month AND l.subgrid_key = s.subgrid_key
LEFT JOIN ru_held h ON h.month = o.month AND h.subgrid_key = s.subgrid_key
LEFT JOIN ru_signed g ON g.month = o.month AND g.subgrid_key = s.subgrid_key"""


def village_month_select(acts: str) -> str:
    held = each_type("(count(*) FILTER (WHERE activity_type = $t_{k}))::SMALLINT AS held_{k}")
    return f"""SELECT month, village_id,
    {held}
FROM {acts}
GROUP BY month, village_id"""


# Deductions with the keys of the unit they are recorded on: a sub-grid (its key), a
# person (their sub-grid's key; ``person_key`` when a member), or anything else
# (village, town: no keys).
DEDUCTION_SELECT = """SELECT d.unit_id, date_trunc('month', d.deduction_date)::DATE AS month,
    d.item, d.points::DOUBLE AS points,
    coalesce(sk.subgrid_key, psk.subgrid_key) AS subgrid_key,
    sk.subgrid_key IS NOT NULL AS on_subgrid,
    p.person_id IS NOT NULL AS on_person,
    m.person_key
FROM deduction d
LEFT JOIN {subgrids} sk ON sk.subgrid_id = d.unit_id
LEFT JOIN person p ON p.person_id = d.unit_id
LEFT JOIN {subgrids} psk ON psk.subgrid_id = p.subgrid_id
LEFT JOIN {members} m ON m.person_id = d.unit_id"""

# Survey scores of sub-grids and of party members (with their sub-grid's key), with
# the months their period covers (2026H1, 2026Q3, 2026 or 2026-05; other spellings are
# left out). Scores of other units (a village, a person who is no member) feed nothing.
SURVEY_SELECT = r"""SELECT coalesce(sk.subgrid_key, m.subgrid_key) AS subgrid_key, m.person_key,
    e.index_name, e.rater, e.score::DOUBLE AS score, p.p_start, p.p_end
FROM evaluation e
LEFT JOIN {subgrids} sk ON sk.subgrid_id = e.unit_id
LEFT JOIN {members} m ON m.person_id = e.unit_id
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
WHERE p.p_start IS NOT NULL AND (sk.subgrid_key IS NOT NULL OR m.person_key IS NOT NULL)"""


def fill_names(sql: str, **names: str) -> str:
    """``sql`` with each ``{name}`` replaced by the given SQL text (a subquery)."""
    for name, value in names.items():
        sql = sql.replace("{" + name + "}", value)
    return sql


def direct_relations() -> dict[str, str]:
    """The rollups as subqueries over the base tables (every month), for metrics.

    Same names and columns as the tables; ``metrics`` uses these when the rollups are
    not ready, and the tests compare both paths.
    """
    subgrids = f"({SUBGRID_KEYS_SELECT})"
    members = "(" + fill_names(MEMBER_SELECT, subgrids=subgrids) + ")"
    acts = "(" + fill_names(ACTS_SELECT, subgrids=subgrids, where="TRUE") + ")"
    signins = fill_names(SIGNINS_FROM, acts=acts, members=members)
    member_month = "(" + fill_names(MEMBER_MONTH_SELECT, signins=signins) + ")"
    return {
        "ru_subgrid": subgrids,
        "ru_member": members,
        "ru_member_month": member_month,
        "ru_subgrid_month": "(" + subgrid_month_select(acts, members, member_month, subgrids) + ")",
        "ru_village_month": f"({village_month_select(acts)})",
        "ru_deduction": "("
        + fill_names(DEDUCTION_SELECT, subgrids=subgrids, members=members)
        + ")",
        "ru_survey": "(" + fill_names(SURVEY_SELECT, subgrids=subgrids, members=members) + ")",
    }
