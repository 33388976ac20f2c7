"""Shared data access and arithmetic of the metrics (internal to the package).

A :class:`Context` binds a connection, a :class:`~metrics.filters.Filter`, the
configuration and a *bucket* mode. It aggregates with small, single-purpose DuckDB
queries over the rollups (or over the base tables when the rollups are not built) —
down to at most one row per sub-grid and month — and composes the metrics from those
rows in Polars. Each piece is fetched or computed once per context
(``functools.cached_property``); inside :func:`batch`, contexts and fetched slices
are shared between the calls of one page view.

Why not one SQL statement per metric: DuckDB spends 25–40 ms binding and optimising
a 10 KB statement with a dozen CTEs — more than a page's budget at town scale —
while an aggregation over a rollup costs a few milliseconds. Why not raw rows into
Polars: at city scale moving 150 000 report rows costs ~50 ms, their aggregate a
tenth of that.

*Grain*: for a small scope (sub-grids × months ≤ :data:`FINE_LIMIT`) the queries
return one row per unit and month, so that calls with other buckets reuse them (per
month) inside a batch; for a large scope (a city) they aggregate to the buckets in
SQL, so that only one row per unit and bucket crosses into Polars. Both give the same
numbers.

Buckets group months: ``range`` (the filter's range, bucket = its first month),
``month`` (every month its own bucket) or ``compare`` (the range and the equally long
range before it, bucket = the first month of each). Only *data months* — months with
at least one activity — form buckets: a month nobody has uploaded is left out rather
than scored zero. Reports and deductions are bucketed by calendar month.

Every value in SQL is a bound parameter; only identifiers (rollup tables and columns
from our own constants) and fixed SQL fragments are formatted into SQL text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cached_property

import duckdb
import polars as pl

from etl import rollups
from etl.rollups import TYPE_KEYS, bound
from metrics.config import Config, Threshold, default_config
from metrics.filters import Filter, add_months

ALL_CATEGORIES = "全部"
BUCKET_MODES = ("range", "month", "compare")
NO_DATE = date(1, 1, 1)
FINE_LIMIT = 25_000  # sub-grids × months up to which queries return per-month rows
FORTRESS_PARTS = ("coverage", "study", "collection", "handling", "survey")
ACTIVITY_SUMS = (
    "due",
    "met",
    "compliant",
    "member_months",
    "reached",
    "reached_home",
    "volunteer_members",
    "org_credit",
    "org_expected",
)
REPORT_SUMS = (
    "reports",
    "accept_due",
    "accept_on_time",
    "resolve_due",
    "resolve_on_time",
    "resolved",
    "satisfaction_sum",
    "satisfaction_n",
)
VANGUARD_PARTS = ("attendance", "study", "role")

_shared: ContextVar[dict | None] = ContextVar("metrics_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Share work between the metric calls made inside (one page view).

    Every DuckDB query costs a few milliseconds however small, and the calls a page
    makes need much the same slices. Inside ``with batch():`` calls with the same
    filter share one :class:`Context`, and each distinct query runs once (per month,
    for per-month slices). Use one batch per page view on one database: nothing in it
    is invalidated when the data change, so never keep a batch open across a load.
    Nested batches share the outer one.
    """
    if _shared.get() is not None:
        yield
        return
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _key(sql: str, values: dict) -> tuple:
    frozen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(values.items()))
    return (sql, frozen)


def relations(con: duckdb.DuckDBPyConnection, use_rollups: bool = True) -> dict[str, str]:
    """Rollup tables when built (and wanted), else the same rows computed directly."""
    memo = _shared.get()
    if memo is not None and use_rollups:
        if "rollups_ready" not in memo:
            memo["rollups_ready"] = rollups.rollups_ready(con)
        ready = memo["rollups_ready"]
    else:
        ready = use_rollups and rollups.rollups_ready(con)
    if ready:
        out = {name: name for name in rollups.TABLES}
        out["data_months"] = "(SELECT DISTINCT month FROM ru_village_month)"
        return out
    out = rollups.direct_relations()
    out["data_months"] = (
        "(SELECT DISTINCT date_trunc('month', activity_date)::DATE AS month FROM activity)"
    )
    return out


def label_for(thresholds: tuple[Threshold, ...], column: str) -> pl.Expr:
    """Polars expression: the label of the first threshold ``column`` reaches."""
    expr = pl.lit(thresholds[-1].label)
    for t in reversed(thresholds[:-1]):
        expr = pl.when(pl.col(column) >= t.min).then(pl.lit(t.label)).otherwise(expr)
    return pl.when(pl.col(column).is_null()).then(None).otherwise(expr)


def ratio(numerator: str, denominator: str) -> pl.Expr:
    """``numerator ÷ denominator`` as a float, null when the denominator is 0."""
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator).cast(pl.Float64) / pl.col(denominator))
        .otherwise(None)
    )


def score(frame: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Add ``p_pts`` per part and ``raw``: weighted parts rescaled over those present.

    The value of part ``p`` is column ``v_p``, a fraction in [0, 1]; null means
    nothing to measure, and the part's weight is then shared out over the others.
    """
    available = pl.sum_horizontal(
        [pl.when(pl.col(f"v_{p}").is_null()).then(0.0).otherwise(w) for p, w in weights.items()]
    )
    points = [
        pl.when(available > 0)
        .then(w * pl.col(f"v_{p}") * 100.0 / available)
        .otherwise(None)
        .alias(f"{p}_pts")
        for p, w in weights.items()
    ]
    return frame.with_columns(points).with_columns(
        raw=pl.sum_horizontal([pl.col(f"{p}_pts").fill_null(0.0) for p in weights])
    )


class shared_property:
    """Like ``cached_property``, but cached in the context's scope store: contexts of the
    same range, village, configuration and buckets (any level) share the value."""

    def __init__(self, func):
        self.func, self.name = func, func.__name__
        self.__doc__ = func.__doc__

    def __get__(self, ctx, owner=None):
        if ctx is None:
            return self
        store = ctx.store
        if self.name not in store:
            store[self.name] = self.func(ctx)
        return store[self.name]


class Context:
    """One metric computation: connection, filter, configuration and bucket mode.

    Create it with :meth:`of`. Inside a :func:`batch`, calls with the same filter,
    configuration and bucket mode get the same context; contexts differing only in
    level share everything that does not depend on the level (the fetched slices and
    the per-sub-grid frames); and a ``range`` context reuses a ``compare`` context of
    the same range when the page already built one (its current bucket is the range).
    Frames of a context carry a ``bucket`` column; :meth:`current` keeps the range's.
    """

    @classmethod
    def of(
        cls,
        con: duckdb.DuckDBPyConnection,
        f: Filter,
        config: Config | None = None,
        use_rollups: bool = True,
        buckets: str = "range",
    ) -> Context:
        memo = _shared.get()
        if memo is None:
            return cls(con, f, config, use_rollups, buckets)
        if (
            buckets == "range"
            and ("scope", f.start, f.end, f.village_id, config, use_rollups, "compare") in memo
        ):
            buckets = "compare"
        key = ("context", f, config, use_rollups, buckets)
        if key not in memo:
            memo[key] = cls(con, f, config, use_rollups, buckets)
        return memo[key]

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        f: Filter,
        config: Config | None = None,
        use_rollups: bool = True,
        buckets: str = "range",
    ):
        if buckets not in BUCKET_MODES:
            raise ValueError(buckets)
        self.con, self.f, self.buckets = con, f, buckets
        self.config = config or default_config()
        self.rel = relations(con, use_rollups)
        self.unit = f.unit_column
        self.span = f.previous().months + f.months if buckets == "compare" else f.months
        memo = _shared.get()
        scope = ("scope", f.start, f.end, f.village_id, config, use_rollups, buckets)
        self.store: dict = {} if memo is None else memo.setdefault(scope, {})

    def current(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``frame`` for the filter's own range (its first month's bucket)."""
        if self.buckets == "month":
            raise ValueError("current() needs range buckets")
        return frame.filter(pl.col("bucket") == self.f.start)

    # -- plumbing ----------------------------------------------------------------------------
    def fetch(self, sql: str, **params) -> pl.DataFrame:
        """Run a query with bound parameters (only those it names) into a Polars frame
        (shared inside a :func:`batch`)."""
        values = bound(sql, {**self.base_params, **params})
        memo = _shared.get()
        if memo is None:
            return self._run(sql, values)
        key = _key(sql, values)
        if key not in memo:
            memo[key] = self._run(sql, values)
        return memo[key]

    def _run(self, sql: str, values: dict) -> pl.DataFrame:
        return pl.from_arrow(self.con.sql(sql, params=values or None).to_arrow_table())

    def fetch_months(self, sql: str, months: list[date], **params) -> pl.DataFrame:
        """Run a per-month query for ``months`` (bound as ``$months``; the result has a
        ``grain`` column holding the month). Inside a :func:`batch` each month is
        fetched once: a later call fetches only the months not seen yet."""
        memo = _shared.get()
        values = bound(sql, {**self.base_params, **params, "months": months})
        if memo is None:
            return self._run(sql, values)
        base = _key(sql, {**values, "months": []})
        missing = [m for m in months if (base, m) not in memo]
        if missing:
            fetched = self._run(sql, {**values, "months": missing})
            parts = fetched.partition_by("grain", as_dict=True)
            for m in missing:
                memo[(base, m)] = parts.get((m,), fetched.clear())
            if len(missing) == len(months):
                return fetched
        return pl.concat([memo[(base, m)] for m in months]) if months else self._run(sql, values)

    @shared_property
    def base_params(self) -> dict[str, object]:
        resp = self.config.response
        out = {
            **self.f.params(),
            **rollups.params(),
            "span_start": self.span[0],
            "cal_months": self.span,
            "cal_buckets": [self.bucket_of(m) for m in self.span],
            "accept_limit": resp.accept_limit_hours,
            "limit_default": resp.default_resolve_limit_hours,
        }
        for i, (category, hours) in enumerate(resp.resolve_limit_hours):
            out[f"limit_cat_{i}"], out[f"limit_h_{i}"] = category, hours
        return out

    def bucket_of(self, month: date) -> date:
        if self.buckets == "month":
            return month
        if self.buckets == "compare" and month < self.f.start:
            return self.f.previous().start
        return self.f.start

    # -- scope ---------------------------------------------------------------------------
    @shared_property
    def data_months(self) -> list[date]:
        """Every data month in the database, ascending."""
        frame = self.fetch(f"SELECT month FROM {self.rel['data_months']} ORDER BY month")
        return frame["month"].to_list()

    @shared_property
    def data_span(self) -> list[date]:
        """The data months of the span, ascending."""
        present = set(self.data_months)
        return [m for m in self.span if m in present]

    @shared_property
    def range_months(self) -> list[date]:
        """The data months of the filter's own range (the span may reach back before)."""
        return [m for m in self.data_span if m >= self.f.start]

    @shared_property
    def cal(self) -> pl.DataFrame:
        """Calendar months of the span with their bucket."""
        return pl.DataFrame(
            {"month": self.span, "bucket": self.base_params["cal_buckets"]},
            schema={"month": pl.Date, "bucket": pl.Date},
        )

    @shared_property
    def mon(self) -> pl.DataFrame:
        """The data months of the span with their bucket."""
        return self.cal.filter(pl.col("month").is_in(self.data_span))

    @shared_property
    def bucket_months(self) -> pl.DataFrame:
        """``bucket, months`` (data months per bucket, only buckets with data)."""
        counts: dict[date, int] = {}
        for m in self.data_span:
            counts[self.bucket_of(m)] = counts.get(self.bucket_of(m), 0) + 1
        return pl.DataFrame(
            {"bucket": list(counts), "months": list(counts.values())},
            schema={"bucket": pl.Date, "months": pl.Int64},
        )

    @shared_property
    def as_of(self) -> datetime:
        """The end of the latest data month: 'now' for on-time decisions."""
        last = add_months(self.data_months[-1], 1) if self.data_months else date(9999, 1, 1)
        return datetime(last.year, last.month, 1)

    @shared_property
    def registry(self) -> pl.DataFrame:
        """Villages in scope with their sub-grids (null for a village without any)."""
        return self.fetch(
            f"""SELECT v.village_id, v.name AS village_name, v.town_id, v.town_name,
    s.subgrid_id, s.name AS subgrid_name, k.subgrid_key
FROM village v
LEFT JOIN subgrid s ON s.village_id = v.village_id
LEFT JOIN {self.rel["ru_subgrid"]} k ON k.subgrid_id = s.subgrid_id
WHERE $village IS NULL OR v.village_id = $village
ORDER BY v.village_id, s.subgrid_id"""
        )

    @shared_property
    def sg(self) -> pl.DataFrame:
        """Sub-grids in scope: ids and names of sub-grid, village and town."""
        return self.registry.filter(pl.col("subgrid_id").is_not_null()).select(
            "subgrid_id",
            "subgrid_key",
            "subgrid_name",
            "village_id",
            "village_name",
            "town_id",
            "town_name",
        )

    @shared_property
    def vg(self) -> pl.DataFrame:
        """Villages in scope with their town."""
        return self.registry.select("village_id", "village_name", "town_id", "town_name").unique(
            "village_id", maintain_order=True
        )

    @cached_property
    def units(self) -> pl.DataFrame:
        """``unit_id, unit_name`` of the units of the filter's level in scope."""
        if self.f.level == "subgrid":
            frame = self.sg.select(unit_id="subgrid_id", unit_name="subgrid_name")
        elif self.f.level == "village":
            frame = self.vg.select(unit_id="village_id", unit_name="village_name")
        else:
            frame = self.vg.select(unit_id="town_id", unit_name="town_name").unique(
                "unit_id", maintain_order=True
            )
        return frame.sort("unit_id")

    def skeleton(self) -> pl.DataFrame:
        """Every unit × bucket with data: ``unit_id, unit_name, bucket, months``."""
        return self.units.join(self.bucket_months, how="cross")

    def in_scope(self, column: str) -> str:
        """SQL condition keeping rows of sub-grids in scope (``TRUE`` without a village)."""
        if self.f.village_id is None:
            return "TRUE"
        return f"{column} IN (SELECT subgrid_id FROM subgrid WHERE village_id = $village)"

    # -- per-unit, per-grain sums -------------------------------------------------------------
    @shared_property
    def fine(self) -> bool:
        """Per-month rows (shareable) rather than per-bucket rows (small transfers)?"""
        return self.sg.height * len(self.span) <= FINE_LIMIT

    def sums(
        self,
        template: str,
        months: list[date],
        keys: list[str],
        mean: bool = False,
        means: tuple[str, ...] = (),
        **params,
    ) -> pl.DataFrame:
        """Run ``template`` (with ``{grain}`` and ``{grain_join}`` over relations
        aliased ``r`` having ``month``; filtering ``r.month`` by ``$months``) and return
        ``keys``, ``bucket`` and its other columns summed per bucket (averaged: every
        column when ``mean``, else those in ``means``; nulls are skipped)."""
        if self.fine:
            sql = template.replace("{grain}", "r.month").replace("{grain_join}", "")
            rows = self.fetch_months(sql, months, **params)
            values = [c for c in rows.columns if c not in (*keys, "grain")]
            agg = [pl.col(c).mean() if mean or c in means else pl.col(c).sum() for c in values]
            if self.buckets == "month":  # one row per key and month already
                return rows.rename({"grain": "bucket"})
            return (
                rows.join(self.cal, left_on="grain", right_on="month")
                .group_by(*keys, "bucket")
                .agg(agg)
            )
        cal = (
            "JOIN (SELECT unnest($cal_months::DATE[]) AS month,"
            " unnest($cal_buckets::DATE[]) AS bucket) c ON c.month = r.month"
        )
        sql = template.replace("{grain}", "c.bucket").replace("{grain_join}", cal)
        return self.fetch(sql, months=months, **params).rename({"grain": "bucket"})

    def requirement_terms(self, level: str) -> tuple[list[str], dict[str, int]]:
        """SQL terms ``(held_k >= $req_i)::INTEGER`` of the requirements of a level."""
        terms, values = [], {}
        for i, r in enumerate(self.config.coverage.requirements):
            if r.level == level:
                terms.append(f"(r.held_{TYPE_KEYS[r.activity_type]} >= $req_{i})::INTEGER")
                values[f"req_{i}"] = r.min_count
        return terms, values

    @shared_property
    def sgb(self) -> pl.DataFrame:
        """Sub-grid × bucket sums over the data months: ``months, due, met, compliant``
        (fully compliant months), ``member_months, reached, reached_home,
        volunteer_members, org_credit, org_expected`` — every sub-grid in scope × every
        bucket with data."""
        terms, values = self.requirement_terms("subgrid")
        met = " + ".join(terms)
        va = self.config.vanguard
        keys = [TYPE_KEYS[t] for t in va.org_life_types]
        credit = " + ".join(
            f"$present_credit * r.present_{k} + $leave_credit * r.leave_{k}" for k in keys
        )
        held = " + ".join(f"r.held_{k}" for k in keys)
        sums = self.sums(
            f"""SELECT r.subgrid_key, {{grain}} AS grain,
    sum({met})::BIGINT AS met,
    count(*) FILTER (WHERE {met} = $n_req)::BIGINT AS compliant,
    sum(r.members)::BIGINT AS member_months,
    sum(r.reached)::BIGINT AS reached,
    sum(r.reached_home)::BIGINT AS reached_home,
    sum(r.volunteer_members)::BIGINT AS volunteer_members,
    sum({credit})::DOUBLE AS org_credit,
    sum(r.members * ({held}))::BIGINT AS org_expected
FROM {self.rel["ru_subgrid_month"]} r {{grain_join}}
WHERE r.month BETWEEN list_min($months::DATE[]) AND list_max($months::DATE[])
  AND list_contains($months::DATE[], r.month) AND {self.in_scope("r.subgrid_id")}
GROUP BY ALL""",
            self.data_span,
            ["subgrid_key"],
            **values,
            n_req=len(terms),
            present_credit=va.present_credit,
            leave_credit=va.leave_credit,
        )
        columns = [c for c in sums.columns if c not in ("subgrid_key", "bucket")]
        # A sub-grid without rollup rows (none after a full refresh) counts zeros.
        return (
            self.sg.select("subgrid_id", "subgrid_key", "village_id", "town_id")
            .join(self.bucket_months, how="cross")
            .join(sums, on=["subgrid_key", "bucket"], how="left")
            .with_columns(
                *[pl.col(c).fill_null(0) for c in columns],
                due=pl.col("months") * len(terms),
            )
        )

    @shared_property
    def vgb(self) -> pl.DataFrame:
        """Village × bucket: village-level requirements ``due`` and ``met``."""
        terms, values = self.requirement_terms("village")
        frame = self.vg.select("village_id", "town_id").join(self.bucket_months, how="cross")
        if not terms:
            return frame.with_columns(due=pl.lit(0, pl.Int64), met=pl.lit(0, pl.Int64))
        sums = self.sums(
            f"""SELECT r.village_id, {{grain}} AS grain, sum({" + ".join(terms)})::BIGINT AS met
FROM {self.rel["ru_village_month"]} r {{grain_join}}
WHERE r.month BETWEEN list_min($months::DATE[]) AND list_max($months::DATE[])
  AND list_contains($months::DATE[], r.month)
  AND ($village IS NULL OR r.village_id = $village)
GROUP BY ALL""",
            self.data_span,
            ["village_id"],
            **values,
        )
        return frame.join(sums, on=["village_id", "bucket"], how="left").with_columns(
            due=pl.col("months") * len(terms), met=pl.col("met").fill_null(0)
        )

    # -- reports ------------------------------------------------------------------------------
    def limit_sql(self, category: str) -> str:
        n = len(self.config.response.resolve_limit_hours)
        if not n:
            return "$limit_default::DOUBLE"
        whens = " ".join(f"WHEN $limit_cat_{i} THEN $limit_h_{i}" for i in range(n))
        return f"(CASE {category} {whens} ELSE $limit_default END)::DOUBLE"

    def on_time_sql(self, alias: str = "r") -> str:
        """``limit_h`` and the on-time flags of ``ru_report`` rows (null = not decided
        yet: no timestamp and the limit not passed at ``$as_of``)."""
        a = alias
        limit = self.limit_sql(f"{a}.category")
        age = f"epoch($as_of - {a}.reported_at) / 3600.0"
        return f"""{limit} AS limit_h,
    CASE WHEN {a}.accepted_at IS NOT NULL THEN {a}.accept_h <= $accept_limit
         WHEN {age} > $accept_limit THEN false
    END AS on_time_accept,
    CASE WHEN {a}.refused THEN NULL
         WHEN {a}.resolved_at IS NOT NULL THEN {a}.resolve_h <= {limit}
         WHEN {age} > {limit} THEN false
    END AS on_time_resolve"""

    def reports_query(self, select: str, **params) -> pl.DataFrame:
        """Run ``select`` over ``rf``: the reports in scope reported in the filter's range
        (every month of the span for ``month`` buckets), with ``bucket``, ``limit_h`` and
        the on-time flags besides the ``ru_report`` columns."""
        sql = f"""WITH rf AS (
    SELECT r.*, c.bucket, {self.on_time_sql()}
    FROM {self.rel["ru_report"]} r
    JOIN (SELECT unnest($cal_months::DATE[]) AS month, unnest($cal_buckets::DATE[]) AS bucket)
        c ON c.month = r.month
    WHERE r.month BETWEEN {"$span_start" if self.buckets == "month" else "$start"} AND $end
      AND {self.in_scope("r.subgrid_id")}
)
{select}"""
        return self.fetch(sql, as_of=self.as_of, **params)

    @shared_property
    def open_reports(self) -> pl.DataFrame:
        """Reports in scope open at the end of the range (reported before it, neither
        resolved nor refused by then): the ``ru_report`` columns plus ``limit_h``,
        ``status_at_end`` (待受理/处理中), ``age_h``, ``overdue_reason`` (超期未办结 /
        超时未受理 / null) and ``overdue``, oldest first."""
        rows = self.fetch(
            f"""SELECT r.report_id, r.subgrid_id, r.village_id, r.town_id, r.category,
    r.summary, r.reporter_id, r.reported_at, r.accepted_at,
    {self.limit_sql("r.category")} AS limit_h,
    CASE WHEN r.accepted_at < $end_excl THEN '处理中' ELSE '待受理' END AS status_at_end,
    epoch($end_excl::TIMESTAMP - r.reported_at) / 3600.0 AS age_h
FROM {self.rel["ru_report"]} r
WHERE r.reported_at < $end_excl
  AND NOT coalesce(r.resolved_at < $end_excl, false)
  AND NOT (r.refused AND coalesce(r.accepted_at, r.reported_at) < $end_excl)
  AND {self.in_scope("r.subgrid_id")}
ORDER BY r.reported_at, r.report_id"""
        )
        accept_limit = self.config.response.accept_limit_hours
        return rows.with_columns(
            overdue_reason=pl.when(pl.col("age_h") > pl.col("limit_h"))
            .then(pl.lit("超期未办结"))
            .when((pl.col("status_at_end") == "待受理") & (pl.col("age_h") > accept_limit))
            .then(pl.lit("超时未受理"))
            .otherwise(None)
        ).with_columns(overdue=pl.col("overdue_reason").is_not_null())

    # -- surveys and deductions -------------------------------------------------------------
    @shared_property
    def unit_points(self) -> pl.DataFrame:
        """``unit_id, bucket, points``: deductions per unit id (of any kind) and bucket."""
        return self.sums(
            f"""SELECT r.unit_id, {{grain}} AS grain, sum(r.points)::DOUBLE AS points
FROM {self.rel["ru_deduction"]} r {{grain_join}}
WHERE r.month BETWEEN list_min($months::DATE[]) AND list_max($months::DATE[])
  AND list_contains($months::DATE[], r.month)
GROUP BY ALL""",
            self.span,
            ["unit_id"],
        )

    @shared_property
    def person_points(self) -> pl.DataFrame:
        """``subgrid_key, bucket, points``: deductions of people, by their sub-grid."""
        return self.sums(
            f"""SELECT r.subgrid_key, {{grain}} AS grain, sum(r.points)::DOUBLE AS points
FROM {self.rel["ru_deduction"]} r {{grain_join}}
WHERE r.person_key IS NOT NULL AND r.subgrid_key IS NOT NULL
  AND r.month BETWEEN list_min($months::DATE[]) AND list_max($months::DATE[])
  AND list_contains($months::DATE[], r.month)
GROUP BY ALL""",
            self.span,
            ["subgrid_key"],
        )

    # -- pooled sums per unit -----------------------------------------------------------------
    @cached_property
    def ua(self) -> pl.DataFrame:
        """Unit × bucket: the pooled activity and member numbers (``subgrid_months, due,
        met, compliant, member_months, reached, reached_home, volunteer_members,
        org_credit, org_expected``) — what coverage and study need, no reports."""
        return self._pooled(self.facts if "facts" in self.store else self.sgb, ())

    @cached_property
    def ub(self) -> pl.DataFrame:
        """Unit × bucket: what :attr:`ua` holds plus the pooled report numbers
        (``reports, accept_due, accept_on_time, resolve_due, resolve_on_time, resolved,
        satisfaction_sum, satisfaction_n``), from :attr:`facts`."""
        return self._pooled(self.facts, REPORT_SUMS)

    def _pooled(self, per_subgrid: pl.DataFrame, extra: tuple[str, ...]) -> pl.DataFrame:
        """Per unit of the level and bucket: the sums of ``per_subgrid`` (activity and
        member columns, plus ``extra``) and the village-level requirements."""
        u = self.unit
        sums = [*ACTIVITY_SUMS, *extra]
        frame = self.skeleton().join(
            per_subgrid.group_by(pl.col(u).alias("unit_id"), "bucket").agg(
                pl.col("months").sum().alias("subgrid_months"), *[pl.col(c).sum() for c in sums]
            ),
            on=["unit_id", "bucket"],
            how="left",
        )
        if self.f.level != "subgrid":
            village = self.vgb.group_by(pl.col(u).alias("unit_id"), "bucket").agg(
                v_due=pl.col("due").sum(), v_met=pl.col("met").sum()
            )
            frame = (
                frame.join(village, on=["unit_id", "bucket"], how="left")
                .with_columns(
                    due=pl.col("due").fill_null(0) + pl.col("v_due").fill_null(0),
                    met=pl.col("met").fill_null(0) + pl.col("v_met").fill_null(0),
                )
                .drop("v_due", "v_met")
            )
        counts = ["subgrid_months", *(c for c in sums if c != "org_credit")]
        return frame.with_columns(
            *[pl.col(c).fill_null(0).cast(pl.Int64) for c in counts],
            pl.col("org_credit").fill_null(0.0).cast(pl.Float64),
        ).sort("unit_id", "bucket")

    @shared_property
    def facts(self) -> pl.DataFrame:
        """Sub-grid × bucket in one query: the :attr:`sgb` sums, the report sums
        (``reports``, ``accept_due``/``accept_on_time``, ``resolve_due``/
        ``resolve_on_time``, ``resolved``, ``satisfaction_sum``/``_n``), ``survey_score``
        (the mean over the bucket's calendar months of the mean score of the survey
        periods covering each) and ``points`` (deductions on the sub-grid) — every
        sub-grid in scope × every bucket with data. One round trip and no joins in
        Polars: this is what the 堡垒指数 and the pooled sums read."""
        terms, values = self.requirement_terms("subgrid")
        met = " + ".join(terms)
        va, fo = self.config.vanguard, self.config.fortress
        keys = [TYPE_KEYS[t] for t in va.org_life_types]
        credit = " + ".join(
            f"$present_credit * r.present_{k} + $leave_credit * r.leave_{k}" for k in keys
        )
        held = " + ".join(f"r.held_{k}" for k in keys)
        in_months = """r.month BETWEEN list_min($months::DATE[]) AND list_max($months::DATE[])
      AND list_contains($months::DATE[], r.month)"""
        rows = self.sums(
            f"""WITH a AS (
    SELECT r.subgrid_key, {{grain}} AS grain,
        sum({met})::BIGINT AS met,
        count(*) FILTER (WHERE {met} = $n_req)::BIGINT AS compliant,
        sum(r.members)::BIGINT AS member_months,
        sum(r.reached)::BIGINT AS reached,
        sum(r.reached_home)::BIGINT AS reached_home,
        sum(r.volunteer_members)::BIGINT AS volunteer_members,
        sum({credit})::DOUBLE AS org_credit,
        sum(r.members * ({held}))::BIGINT AS org_expected
    FROM {self.rel["ru_subgrid_month"]} r {{grain_join}}
    WHERE {in_months} AND {self.in_scope("r.subgrid_id")}
    GROUP BY ALL
),
rp AS (
    SELECT r.subgrid_key, {{grain}} AS grain, count(*) AS reports,
        count(on_time_accept) AS accept_due,
        count(*) FILTER (WHERE on_time_accept) AS accept_on_time,
        count(on_time_resolve) AS resolve_due,
        count(*) FILTER (WHERE on_time_resolve) AS resolve_on_time,
        count(resolved_at) AS resolved,
        coalesce(sum(satisfaction), 0)::BIGINT AS satisfaction_sum,
        count(satisfaction) AS satisfaction_n
    FROM (SELECT *, {self.on_time_sql("x")} FROM {self.rel["ru_report"]} x) r {{grain_join}}
    WHERE {in_months} AND {self.in_scope("r.subgrid_id")}
    GROUP BY ALL
),
sv AS (
    SELECT r.subgrid_key, {{grain}} AS grain, avg(r.score) AS survey_score
    FROM (
        SELECT s.subgrid_key, m.month, avg(s.score) AS score
        FROM {self.rel["ru_survey"]} s
        JOIN (SELECT unnest($months::DATE[]) AS month) m
          ON m.month BETWEEN s.p_start AND s.p_end
        WHERE s.index_name = $survey_index AND s.rater = $survey_rater
          AND {self.in_scope("s.subgrid_id")}
        GROUP BY ALL
    ) r {{grain_join}}
    GROUP BY ALL
),
dd AS (
    SELECT r.subgrid_key, {{grain}} AS grain, sum(r.points)::DOUBLE AS points
    FROM {self.rel["ru_deduction"]} r {{grain_join}}
    WHERE r.on_subgrid AND {in_months}
    GROUP BY ALL
)
SELECT subgrid_key, grain, a.* EXCLUDE (subgrid_key, grain),
    rp.* EXCLUDE (subgrid_key, grain), sv.survey_score, dd.points
FROM a FULL JOIN rp USING (subgrid_key, grain)
FULL JOIN sv USING (subgrid_key, grain)
FULL JOIN dd USING (subgrid_key, grain)""",
            self.span,
            ["subgrid_key"],
            means=("survey_score",),
            **values,
            n_req=len(terms),
            present_credit=va.present_credit,
            leave_credit=va.leave_credit,
            survey_index=fo.survey_index,
            survey_rater=fo.survey_rater,
            as_of=self.as_of,
        )
        counts = [
            c
            for c in rows.columns
            if c not in ("subgrid_key", "bucket", "survey_score", "points", "org_credit")
        ]
        return (
            self.sg.select("subgrid_id", "subgrid_key", "village_id", "town_id")
            .join(self.bucket_months, how="cross")
            .join(rows, on=["subgrid_key", "bucket"], how="left")
            .with_columns(
                *[pl.col(c).fill_null(0).cast(pl.Int64) for c in counts],
                pl.col("org_credit").fill_null(0.0).cast(pl.Float64),
                due=pl.col("months") * len(terms),
            )
        )

    # -- 堡垒指数 ----------------------------------------------------------------------------
    @shared_property
    def fsg(self) -> pl.DataFrame:
        """堡垒指数 per sub-grid and bucket, with its parts."""
        fo = self.config.fortress
        target = self.config.response.target_per_subgrid_month
        frame = self.facts.with_columns(
            v_coverage=ratio("met", "due"),
            v_study=ratio("reached", "member_months"),
            v_collection=pl.min_horizontal(
                pl.lit(1.0), pl.col("reports") / (target * pl.col("months"))
            ),
            v_handling=ratio("resolve_on_time", "resolve_due"),
            v_survey=pl.col("survey_score") / 100.0,
            deductions=pl.col("points").fill_null(0.0),
        )
        frame = score(frame, {p: getattr(fo, p) for p in FORTRESS_PARTS})
        return frame.with_columns(
            fortress_index=pl.max_horizontal(pl.lit(0.0), pl.col("raw") - pl.col("deductions")),
            surveyed=pl.col("v_survey").is_not_null(),
        )

    def _weighted_up(self, frame: pl.DataFrame, key: str) -> pl.DataFrame:
        """Member-month-weighted means per ``key`` and bucket of the parts and of the
        index (as ``raw``; plain means when no member-months), minus the deductions
        recorded on ``key`` itself (floored at 0). A part left out counts 0, as in raw."""
        values = [f"{p}_pts" for p in FORTRESS_PARTS] + ["fortress_index"]
        weight = pl.col("member_months")
        up = frame.group_by(key, "bucket").agg(
            *[(pl.col(c).fill_null(0.0) * weight).sum().alias(f"w_{c}") for c in values],
            *[pl.col(c).fill_null(0.0).mean().alias(f"m_{c}") for c in values],
            weight.sum(),
            pl.col("surveyed").all(),
        )
        weighted = weight > 0
        means = [
            pl.when(weighted)
            .then(pl.col(f"w_{c}") / weight)
            .otherwise(pl.col(f"m_{c}"))
            .alias("raw" if c == "fortress_index" else c)
            for c in values
        ]
        deductions = self.unit_points.rename({"unit_id": key, "points": "deductions"})
        return (
            up.join(deductions, on=[key, "bucket"], how="left")
            .select(
                key,
                "bucket",
                "member_months",
                "surveyed",
                *means,
                pl.col("deductions").fill_null(0.0),
            )
            .with_columns(
                fortress_index=pl.max_horizontal(pl.lit(0.0), pl.col("raw") - pl.col("deductions"))
            )
        )

    @shared_property
    def fv(self) -> pl.DataFrame:
        """堡垒指数 per village and bucket (shared by the village and town levels)."""
        return self._weighted_up(self.fsg, "village_id")

    @cached_property
    def fort(self) -> pl.DataFrame:
        """堡垒指数 per unit of the filter's level and bucket (column ``unit_id``)."""
        cols = [
            "unit_id",
            "bucket",
            *(f"{p}_pts" for p in FORTRESS_PARTS),
            "raw",
            "deductions",
            "fortress_index",
            "member_months",
            "surveyed",
        ]
        if self.f.level == "subgrid":
            return self.fsg.rename({"subgrid_id": "unit_id"}).select(cols)
        if self.f.level == "village":
            return self.fv.rename({"village_id": "unit_id"}).select(cols)
        villages = self.fv.join(self.vg.select("village_id", "town_id"), on="village_id")
        return self._weighted_up(villages, "town_id").rename({"town_id": "unit_id"}).select(cols)

    # -- 先锋指数 -----------------------------------------------------------------------------
    def vanguard_query(self, select: str) -> pl.DataFrame:
        """Run ``select`` over ``vm``: one row per member on a roll in scope and bucket,
        with the parts (``v_*`` fractions, ``*_pts`` points) and ``vanguard_index``.

        A member's sums over a bucket come from the running sums of ``ru_member_month``:
        the row of the bucket's last data month minus the row of the data month before
        the bucket's first."""
        first: dict[date, date] = {}
        last: dict[date, date] = {}
        for m in self.data_span:
            b = self.bucket_of(m)
            first.setdefault(b, m)
            last[b] = m
        bases = []
        for b in first:
            before = [m for m in self.data_months if m < first[b]]
            bases.append(before[-1] if before else NO_DATE)
        va = self.config.vanguard
        keys = [TYPE_KEYS[t] for t in va.org_life_types]

        def diff(col: str) -> str:
            return f"(e.{col} - coalesce(b.{col}, 0))"

        credit = " + ".join(
            f"$present_credit * {diff(f'c_present_{k}')} + $leave_credit * {diff(f'c_leave_{k}')}"
            for k in keys
        )
        held = " + ".join(diff(f"c_held_{k}") for k in keys)
        member = self.rel["ru_member_month"]
        # With a village, only its members' reports are counted (a semi-join); for the
        # whole database the join with the members does the same, cheaper.
        reporters = (
            "" if self.f.village_id is None else "AND r.reporter_key IN (SELECT person_key FROM d)"
        )
        cal = (
            "(SELECT unnest($cal_months::DATE[]) AS month, unnest($cal_buckets::DATE[]) AS bucket)"
        )
        sql = f"""WITH d AS (
    SELECT v.bucket, e.person_key, e.subgrid_id, e.subgrid_key,
        {diff("c_months")} AS months_on_roll,
        {diff("c_reached")} AS study_months,
        {diff("c_volunteer")} AS volunteer,
        ({credit})::DOUBLE AS org_credit,
        ({held})::BIGINT AS org_expected
    FROM (SELECT unnest($v_buckets::DATE[]) AS bucket, unnest($v_ends::DATE[]) AS end_month,
                 unnest($v_bases::DATE[]) AS base_month) v
    JOIN {member} e ON e.month = v.end_month
    LEFT JOIN {member} b ON b.month = v.base_month AND b.person_key = e.person_key
    WHERE {diff("c_months")} > 0 AND {self.in_scope("e.subgrid_id")}
),
rep AS (
    SELECT r.reporter_key AS person_key, c.bucket, count(*) AS reports
    FROM {self.rel["ru_report"]} r
    JOIN {cal} c ON c.month = r.month
    WHERE r.month BETWEEN $span_start AND $end AND r.reporter_key IS NOT NULL {reporters}
    GROUP BY ALL
),
ded AS (
    SELECT x.person_key, c.bucket, sum(x.points) AS points
    FROM {self.rel["ru_deduction"]} x
    JOIN {cal} c ON c.month = x.month
    WHERE x.person_key IS NOT NULL AND x.month BETWEEN $span_start AND $end
    GROUP BY ALL
),
parts AS (
    SELECT d.*, coalesce(rep.reports, 0) AS reports,
        coalesce(ded.points, 0)::DOUBLE AS deductions,
        d.org_credit / nullif(d.org_expected, 0) AS v_attendance,
        d.study_months / d.months_on_roll AS v_study,
        CASE WHEN $w_role > 0
             THEN least(1.0, $per_item * (d.volunteer + coalesce(rep.reports, 0)) / $w_role)
        END AS v_role
    FROM d
    LEFT JOIN rep ON rep.person_key = d.person_key AND rep.bucket = d.bucket
    LEFT JOIN ded ON ded.person_key = d.person_key AND ded.bucket = d.bucket
),
avail AS (
    SELECT *, CASE WHEN v_attendance IS NULL THEN 0 ELSE $w_attendance END
              + CASE WHEN v_study IS NULL THEN 0 ELSE $w_study END
              + CASE WHEN v_role IS NULL THEN 0 ELSE $w_role END AS w_available
    FROM parts
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
)
{select}"""
        return self.fetch(
            sql,
            v_buckets=list(first),
            v_ends=[last[b] for b in first],
            v_bases=bases,
            present_credit=va.present_credit,
            leave_credit=va.leave_credit,
            per_item=va.role_points_per_item,
            w_attendance=va.attendance,
            w_study=va.study,
            w_role=va.role,
        )

    @shared_property
    def vsg(self) -> pl.DataFrame:
        """Per sub-grid and bucket: ``members`` and the sums over them of
        ``vanguard_index`` and its parts (averages roll up exactly from these)."""
        return self.vanguard_query(
            """SELECT subgrid_key, bucket, count(*) AS members,
    sum(vanguard_index) AS vanguard_index, sum(coalesce(attendance_pts, 0)) AS attendance_pts,
    sum(coalesce(study_pts, 0)) AS study_pts, sum(coalesce(role_pts, 0)) AS role_pts,
    sum(deductions) AS deductions
FROM vm GROUP BY ALL"""
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
