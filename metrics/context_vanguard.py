"""The 先锋指数 frames of a :class:`~metrics.context.Context` (internal to the package).

A member's sums over a bucket come from ``ru_member_month`` (one row per member and
data month on the roll with sign-ins) and the roster (``ru_member``). For a small
scope they are assembled in Polars from short queries and the frames a page reads
anyway; for a large one, the per-sub-grid sums take one SQL statement that computes
only the few members who do not enter them linearly (:meth:`VanguardFrames._vsg_linear`).
"""

from __future__ import annotations

from functools import cached_property

import polars as pl

from metrics.frames import per_subgrid
from store.rollup_layout import OPEN_END, TYPE_KEYS, packed_column, type_count

VANGUARD_PARTS = ("attendance", "study", "role")

# The columns (and types) of Context.member_inputs.
MEMBER_INPUTS = {
    "person_key": pl.Int32,
    "person_id": pl.String,
    "subgrid_key": pl.Int32,
    "bucket": pl.Date,
    "months_on_roll": pl.Int32,
    "study_months": pl.Int32,
    "volunteer": pl.Int32,
    "org_credit": pl.Float64,
    "org_expected": pl.Int64,
    "reports": pl.Int64,
    "deductions": pl.Float64,
}


class VanguardFrames:
    """The 先锋指数 part of :class:`~metrics.context.Context` (a mixin)."""

    @per_subgrid()
    def member_inputs(self) -> pl.DataFrame:
        """One row per member on a roll in scope and bucket: ``person_key, person_id,
        subgrid_key, bucket, months_on_roll`` (data months on the roll),
        ``study_months, volunteer, org_credit, org_expected`` (the 组织生活 activities
        the member's sub-grid held in those months), ``reports`` (filed anywhere) and
        ``deductions``. Small scope only: assembled in Polars from short queries and
        the frames a page reads anyway (see :meth:`vanguard_sql` for a large scope)."""
        if not self.bucket_bounds:
            return pl.DataFrame(schema=MEMBER_INPUTS)
        return self._member_inputs_fine().select(
            pl.col(c).cast(t) for c, t in MEMBER_INPUTS.items()
        )

    def _credit_sql(self, alias: str = "r") -> str:
        """SQL over member-month rows (or sums of them) ``alias``: the 组织生活 credit."""
        return " + ".join(
            f"$present_credit * {type_count(f'{alias}.present', t)}"
            f" + $leave_credit * {type_count(f'{alias}.leave', t)}"
            for t in self.config.vanguard.org_life_types
        )

    @per_subgrid()
    def members(self) -> pl.DataFrame:
        """Members in scope: ``person_key, person_id, subgrid_key, first_month,
        last_month`` (the months on the roll; null: still on it)."""
        return self.fetch(
            f"""SELECT m.person_key, m.person_id, p.name, m.subgrid_key, m.first_month,
    m.last_month
FROM {self.rel["ru_member"]} m
JOIN person p ON p.person_id = m.person_id
WHERE {self.in_scope("m.subgrid_key")}""",
            **self.key_range,
        )

    def _member_inputs_fine(self) -> pl.DataFrame:
        va = self.config.vanguard
        bounds = pl.DataFrame(
            {
                "bucket": list(self.bucket_bounds),
                "b_first": [b[0] for b in self.bucket_bounds.values()],
                "b_last": [b[1] for b in self.bucket_bounds.values()],
            },
            schema={"bucket": pl.Date, "b_first": pl.Date, "b_last": pl.Date},
        )
        last = pl.col("last_month").fill_null(OPEN_END)
        on_roll = (
            self.members.join(bounds, how="cross")
            .filter(pl.col("first_month") <= pl.col("b_last"), last >= pl.col("b_first"))
            .with_columns(
                lo=pl.max_horizontal("first_month", "b_first"),
                hi=pl.min_horizontal(last, "b_last"),
            )
        )
        # The data months on the roll and the 组织生活 activities due in them.
        held = self.sg_month_rows().select("subgrid_key", "held_org", month="grain")
        due = (
            on_roll.select("person_key", "subgrid_key", "bucket", "lo", "hi")
            .join(held, on="subgrid_key")
            .filter(pl.col("month").is_between(pl.col("lo"), pl.col("hi")))
            .group_by("person_key", "bucket")
            .agg(months_on_roll=pl.len(), org_expected=pl.col("held_org").sum())
        )
        signed = (
            self.fetch_months(
                f"""SELECT r.person_key, r.subgrid_key, r.month AS grain, r.reached, r.volunteer,
    ({self._credit_sql()})::DOUBLE AS org_credit
FROM {self.rel["ru_member_month"]} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {self.in_scope("r.subgrid_key")}""",
                self.data_span,
                present_credit=va.present_credit,
                leave_credit=va.leave_credit,
                **self.key_range,
            )
            .join(self.cal, left_on="grain", right_on="month")
            .group_by("person_key", "bucket")
            .agg(
                study_months=pl.col("reached").sum(),
                volunteer=pl.col("volunteer").sum(),
                org_credit=pl.col("org_credit").sum(),
            )
        )
        if self.f.village_id is None:
            # Every report of the span is at hand (reports filed anywhere count).
            reports = (
                self.report_frame.filter(pl.col("reporter_id").is_not_null())
                .group_by(person_id="reporter_id", bucket="bucket")
                .agg(reports=pl.len())
                .join(self.members.select("person_id", "person_key"), on="person_id")
                .drop("person_id")
            )
        else:
            reports = (
                self.fetch_months(
                    f"""SELECT m.person_key, r.month AS grain, count(*) AS reports
FROM {self.rel["report"]} r
JOIN {self.rel["ru_member"]} m ON m.person_id = r.reporter_id
WHERE r.reported_at >= $m_first AND r.reported_at < $m_after
  AND list_contains($months::DATE[], r.month) AND {self.in_scope("m.subgrid_key")}
GROUP BY ALL""",
                    self.span,
                    **self.key_range,
                )
                .join(self.cal, left_on="grain", right_on="month")
                .group_by("person_key", "bucket")
                .agg(pl.col("reports").sum())
            )
        points = (
            self.deductions.filter(pl.col("person_key").is_not_null())
            .group_by("person_key", "bucket")
            .agg(deductions=pl.col("points").sum())
        )
        keys = ["person_key", "bucket"]
        return (
            on_roll.select("person_key", "person_id", "subgrid_key", "bucket")
            .join(due, on=keys)
            .join(signed, on=keys, how="left")
            .join(reports, on=keys, how="left")
            .join(points, on=keys, how="left")
            .with_columns(
                pl.col("study_months", "volunteer", "reports").fill_null(0),
                pl.col("org_credit", "deductions").fill_null(0.0),
            )
        )

    def _vanguard_ctes(self, everyone: bool) -> str:
        """The CTEs of the large-scope 先锋指数 (see :meth:`vanguard_sql`), ending in
        ``vm``: the formula for every member of ``roll`` (members on a roll in scope,
        per bucket), or without ``everyone`` for those on it only part of the bucket
        or with deductions (:meth:`_vsg_linear`); also ``role``: volunteering and
        reports per member on the roll, sub-grid and bucket."""
        va = self.config.vanguard
        held = " + ".join(f"g.held_{TYPE_KEYS[t]}" for t in va.org_life_types)
        # Sums of the packed per-type counts, unpacked per member afterwards (FIELD_BITS).
        halves = {packed_column(st, t) for t in va.org_life_types for st in ("present", "leave")}
        packed = ", ".join(f"sum(r.{c}) AS {c}" for c in sorted(halves))
        cal = (
            "(SELECT unnest($cal_months::DATE[]) AS month, unnest($cal_buckets::DATE[]) AS bucket)"
        )
        bucket = self.bucket_sql("r.month")
        # One bucket: group by the member key alone (DuckDB's perfect-hash aggregate; a
        # member's sub-grid is one).
        single = self.buckets == "range"
        role_bucket = "$start::DATE" if single else "bucket"
        role_group = "person_key, subgrid_key" if single else "person_key, subgrid_key, bucket"
        if everyone:
            x = """x AS (
    SELECT roll.*, coalesce(ded.points, 0)::DOUBLE AS deductions
    FROM roll
    LEFT JOIN ded ON ded.person_key = roll.person_key AND ded.bucket = roll.bucket
),"""
        else:
            x = """x AS (
    SELECT roll.*, coalesce(ded.points, 0)::DOUBLE AS deductions
    FROM (SELECT person_key, bucket FROM roll WHERE NOT whole_bucket
          UNION SELECT person_key, bucket FROM ded) e
    JOIN roll ON roll.person_key = e.person_key AND roll.bucket = e.bucket
    LEFT JOIN ded ON ded.person_key = e.person_key AND ded.bucket = e.bucket
),"""
        return f"""WITH vb AS (
    SELECT unnest($v_buckets::DATE[]) AS bucket, unnest($v_firsts::DATE[]) AS b_first,
        unnest($v_lasts::DATE[]) AS b_last
),
roll AS (
    SELECT m.person_key, m.person_id, m.subgrid_key, vb.bucket,
        greatest(m.first_month, vb.b_first) AS lo,
        least(coalesce(m.last_month, $open_end), vb.b_last) AS hi,
        m.first_month <= vb.b_first
            AND coalesce(m.last_month, $open_end) >= vb.b_last AS whole_bucket
    FROM {self.rel["ru_member"]} m
    JOIN vb ON m.first_month <= vb.b_last AND coalesce(m.last_month, $open_end) >= vb.b_first
    WHERE {self.in_scope("m.subgrid_key")}
),
ded AS (
    SELECT x.person_key, c.bucket, sum(x.points) AS points
    FROM {self.rel["ru_deduction"]} x
    JOIN {cal} c ON c.month = x.month
    WHERE x.person_key IS NOT NULL AND x.month BETWEEN $span_start AND $end
    GROUP BY ALL
),
rep AS (
    SELECT m.person_key, m.subgrid_key, c.bucket, sum(r.reports) AS reports
    FROM (
        SELECT reporter_id, month, count(*) AS reports
        FROM {self.rel["report"]}
        WHERE reported_at >= $span_start AND reported_at < $end_excl
        GROUP BY ALL
    ) r
    JOIN {self.rel["ru_member"]} m ON m.person_id = r.reporter_id
    JOIN {cal} c ON c.month = r.month
    JOIN vb ON vb.bucket = c.bucket
    WHERE {self.in_scope("m.subgrid_key")} AND m.first_month <= vb.b_last
      AND coalesce(m.last_month, $open_end) >= vb.b_first
    GROUP BY ALL
),
role AS (
    SELECT person_key, subgrid_key, {role_bucket} AS bucket, sum(volunteer) AS volunteer,
        sum(reports) AS reports
    FROM (
        SELECT r.person_key, r.subgrid_key, {bucket} AS bucket, r.volunteer, 0 AS reports
        FROM {self.rel["ru_member_month"]} r
        WHERE r.month BETWEEN $v_first AND $v_last AND r.volunteer > 0
          AND {self.in_scope("r.subgrid_key")}
        UNION ALL
        SELECT person_key, subgrid_key, bucket, 0, reports FROM rep
    )
    GROUP BY {role_group}
),
{x}
iv AS (
    SELECT i.subgrid_key, i.lo, i.hi, count(*) AS months_on_roll,
        sum({held}) AS org_expected
    FROM (SELECT DISTINCT subgrid_key, lo, hi FROM x) i
    JOIN {self.rel["ru_subgrid_month"]} g
      ON g.subgrid_key = i.subgrid_key AND g.month BETWEEN i.lo AND i.hi
    GROUP BY ALL
),
sp AS (
    SELECT r.person_key, {bucket} AS bucket, sum(r.reached::INTEGER) AS study_months,
        {packed}
    FROM {self.rel["ru_member_month"]} r
    WHERE r.month BETWEEN $v_first AND $v_last AND {self.in_scope("r.subgrid_key")}
      AND r.person_key IN (SELECT person_key FROM x)
    GROUP BY ALL
),
parts AS (
    SELECT x.bucket, x.person_key, x.person_id, x.subgrid_key, iv.months_on_roll,
        coalesce(sp.study_months, 0) AS study_months,
        coalesce(role.volunteer, 0) AS volunteer,
        coalesce(({self._credit_sql("sp")})::DOUBLE, 0) AS org_credit, iv.org_expected,
        coalesce(role.reports, 0) AS reports, x.deductions
    FROM x
    JOIN iv ON iv.subgrid_key = x.subgrid_key AND iv.lo = x.lo AND iv.hi = x.hi
    LEFT JOIN sp ON sp.person_key = x.person_key AND sp.bucket = x.bucket
    LEFT JOIN role ON role.person_key = x.person_key AND role.bucket = x.bucket
),
fractions AS (
    SELECT *, org_credit / nullif(org_expected, 0) AS v_attendance,
        study_months / months_on_roll AS v_study,
        CASE WHEN $w_role > 0
             THEN least(1.0, $per_item * (volunteer + reports) / $w_role) END AS v_role
    FROM parts
),
avail AS (
    SELECT *, CASE WHEN v_attendance IS NULL THEN 0 ELSE $w_attendance END
              + CASE WHEN v_study IS NULL THEN 0 ELSE $w_study END
              + CASE WHEN v_role IS NULL THEN 0 ELSE $w_role END AS w_available
    FROM fractions
),
pts AS (
    SELECT *,
        $w_attendance * v_attendance * 100.0 / nullif(w_available, 0) AS attendance_pts,
        $w_study * v_study * 100.0 / nullif(w_available, 0) AS study_pts,
        $w_role * v_role * 100.0 / nullif(w_available, 0) AS role_pts
    FROM avail
),
vm AS (
    SELECT *,
        coalesce(attendance_pts, 0) + coalesce(study_pts, 0) + coalesce(role_pts, 0) AS raw,
        greatest(0.0, coalesce(attendance_pts, 0) + coalesce(study_pts, 0)
                      + coalesce(role_pts, 0) - deductions) AS vanguard_index
    FROM pts
)"""

    def vanguard_sql(self, sql: str) -> pl.DataFrame:
        """Large scope: run ``sql`` (built on :meth:`_vanguard_ctes`) in one statement
        (a city's members are too many to move into Polars one by one)."""
        bounds = self.bucket_bounds
        va = self.config.vanguard
        return self.fetch(
            sql,
            v_buckets=list(bounds),
            v_firsts=[b[0] for b in bounds.values()],
            v_lasts=[b[1] for b in bounds.values()],
            v_first=min(b[0] for b in bounds.values()),
            v_last=max(b[1] for b in bounds.values()),
            open_end=OPEN_END,
            present_credit=va.present_credit,
            leave_credit=va.leave_credit,
            per_item=va.role_points_per_item,
            w_attendance=va.attendance,
            w_study=va.study,
            w_role=va.role,
            **self.key_range,
        )

    def _vsg_linear(self) -> pl.DataFrame:
        """Large scope: :attr:`vsg` without computing every member.

        A member on the roll the whole bucket and without deductions enters the sums
        linearly, given the sub-grid's rollup: the same months on the roll and
        组织生活 due (``held_org``), so the same weights, and the sub-grid's credit
        and study months are the sums of its members'. Only 作用发挥 is capped per
        member, and needs the members who volunteered or reported. The others (on the
        roll part of the bucket, or with deductions: a few per cent) are computed one
        by one. Same numbers as summing every member, to rounding."""
        va = self.config.vanguard
        rows = self.vanguard_sql(
            self._vanguard_ctes(everyone=False)
            + """,
exact AS (
    SELECT subgrid_key, bucket, count(*) AS x_members,
        sum(vanguard_index) AS x_vanguard, sum(coalesce(attendance_pts, 0)) AS x_attendance,
        sum(coalesce(study_pts, 0)) AS x_study_pts, sum(coalesce(role_pts, 0)) AS x_role,
        sum(deductions) AS x_deductions, sum(org_credit) AS x_credit,
        sum(study_months) AS x_study_months
    FROM vm GROUP BY ALL
),
-- Every member of x (those without a data month on the roll are not in vm): how
-- many, and their capped 作用发挥, to take from the sub-grid's.
xs AS (
    SELECT x.subgrid_key, x.bucket, count(*) AS x_roll,
        sum(CASE WHEN $w_role > 0
                 THEN least(1.0, $per_item * (coalesce(role.volunteer, 0)
                                              + coalesce(role.reports, 0)) / $w_role) END)
            AS x_capped
    FROM x
    LEFT JOIN role ON role.person_key = x.person_key AND role.bucket = x.bucket
    GROUP BY ALL
),
rolls AS (SELECT subgrid_key, bucket, count(*) AS roll_members FROM roll GROUP BY ALL),
capped AS (
    SELECT subgrid_key, bucket,
        sum(CASE WHEN $w_role > 0
                 THEN least(1.0, $per_item * (volunteer + reports) / $w_role) END) AS capped
    FROM role GROUP BY ALL
)
SELECT subgrid_key, bucket, exact.* EXCLUDE (subgrid_key, bucket), xs.x_roll, xs.x_capped,
    rolls.roll_members, capped.capped
FROM rolls
LEFT JOIN exact USING (subgrid_key, bucket)
LEFT JOIN xs USING (subgrid_key, bucket)
LEFT JOIN capped USING (subgrid_key, bucket)"""
        )
        zero = ["x_members", "x_vanguard", "x_attendance", "x_study_pts", "x_role"]
        zero += ["x_deductions", "x_credit", "x_study_months", "x_roll", "x_capped"]
        zero += ["roll_members", "capped"]
        sums = self.sgb.select(
            "subgrid_key", "bucket", "org_credit", "reached", "held_org", "months"
        )
        # (DuckDB's integer sums are 128-bit: decimals in Polars, whose division rounds.)
        frame = (
            rows.join(sums, on=["subgrid_key", "bucket"], how="left")
            .with_columns(pl.col(c).fill_null(0).cast(pl.Float64) for c in zero)
            .with_columns(
                # Members on the roll the whole bucket without deductions: the others
                # are in x (computed one by one; those without a data month on the
                # roll count in neither).
                n_members=pl.col("roll_members") - pl.col("x_roll"),
                n_role=pl.col("capped") - pl.col("x_capped"),
            )
        )
        wa, ws, wr = va.attendance, va.study, va.role
        due = pl.col("held_org") > 0
        available = pl.when(due).then(wa).otherwise(0.0) + ws + (wr if wr > 0 else 0.0)
        some = (pl.col("n_members") > 0) & (available > 0)
        attendance = (
            pl.when(some & due)
            .then(
                wa
                * ((pl.col("org_credit") - pl.col("x_credit")) / pl.col("held_org"))
                * 100.0
                / available
            )
            .otherwise(0.0)
        )
        study = (
            pl.when(some)
            .then(
                ws
                * ((pl.col("reached") - pl.col("x_study_months")) / pl.col("months"))
                * 100.0
                / available
            )
            .otherwise(0.0)
        )
        role = pl.when(some).then(wr * pl.col("n_role") * 100.0 / available).otherwise(0.0)
        return frame.select(
            "subgrid_key",
            "bucket",
            members=(pl.col("x_members") + pl.col("n_members")).cast(pl.Int64),
            vanguard_index=pl.col("x_vanguard") + attendance + study + role,
            attendance_pts=pl.col("x_attendance") + attendance,
            study_pts=pl.col("x_study_pts") + study,
            role_pts=pl.col("x_role") + role,
            deductions=pl.col("x_deductions").cast(pl.Float64),
        ).filter(pl.col("members") > 0)

    @per_subgrid()
    def vm(self) -> pl.DataFrame:
        """先锋指数 per member on a roll in scope and bucket: :attr:`member_inputs` with
        the parts (``v_*`` fractions, ``*_pts`` points; null = left out), ``raw`` and
        ``vanguard_index``."""
        if not self.fine and self.bucket_bounds:
            columns = ", ".join(MEMBER_INPUTS)
            return self.vanguard_sql(
                self._vanguard_ctes(everyone=True)
                + f"""
SELECT {columns}, v_attendance, v_study, v_role, attendance_pts, study_pts, role_pts, raw,
    vanguard_index
FROM vm"""
            ).with_columns(pl.col(c).cast(t) for c, t in MEMBER_INPUTS.items())
        va = self.config.vanguard
        frame = self.member_inputs.with_columns(
            v_attendance=pl.when(pl.col("org_expected") != 0).then(
                pl.col("org_credit") / pl.col("org_expected")
            ),
            v_study=pl.col("study_months") / pl.col("months_on_roll"),
            v_role=pl.lit(None, pl.Float64)
            if va.role <= 0
            else pl.min_horizontal(
                pl.lit(1.0),
                va.role_points_per_item * (pl.col("volunteer") + pl.col("reports")) / va.role,
            ),
        )
        weights = {p: getattr(va, p) for p in VANGUARD_PARTS}
        available = pl.sum_horizontal(
            pl.when(pl.col(f"v_{p}").is_null()).then(0.0).otherwise(w) for p, w in weights.items()
        )
        frame = frame.with_columns(
            pl.when(available != 0).then(w * pl.col(f"v_{p}") * 100.0 / available).alias(f"{p}_pts")
            for p, w in weights.items()
        )
        raw = pl.sum_horizontal(pl.col(f"{p}_pts").fill_null(0.0) for p in VANGUARD_PARTS)
        return frame.with_columns(raw=raw).with_columns(
            vanguard_index=pl.max_horizontal(pl.lit(0.0), pl.col("raw") - pl.col("deductions"))
        )

    @per_subgrid()
    def vsg(self) -> pl.DataFrame:
        """Per sub-grid and bucket: ``members`` and the sums over them of
        ``vanguard_index`` and its parts (averages roll up exactly from these)."""
        if not self.fine and self.bucket_bounds:
            return self._vsg_linear()
        return self.vm.group_by("subgrid_key", "bucket").agg(
            members=pl.len(),
            vanguard_index=pl.col("vanguard_index").sum(),
            attendance_pts=pl.col("attendance_pts").fill_null(0.0).sum(),
            study_pts=pl.col("study_pts").fill_null(0.0).sum(),
            role_pts=pl.col("role_pts").fill_null(0.0).sum(),
            deductions=pl.col("deductions").sum(),
        )

    @cached_property
    def vang(self) -> pl.DataFrame:
        """先锋指数 per unit of the level and bucket: the mean over its members."""
        values = ["vanguard_index", "attendance_pts", "study_pts", "role_pts", "deductions"]
        return (
            self.vsg.join(
                self.sg.select("subgrid_key", unit_id=pl.col(self.unit)), on="subgrid_key"
            )
            .group_by("unit_id", "bucket")
            .agg(pl.col("members").sum().cast(pl.Int64), *[pl.col(c).sum() for c in values])
            .with_columns(pl.col(c) / pl.col("members") for c in values)
        )
