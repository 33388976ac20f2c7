"""Shared data access and arithmetic of the metrics (internal to the package).

A :class:`Context` binds a connection, a :class:`~metrics.filters.Filter`, the
configuration and a *bucket* mode. It reads a few compact frames with short DuckDB
queries over the rollups (or over the base tables when the rollups are not built)
and composes the metrics from them in Polars. Each frame is fetched or computed once
per context (``functools.cached_property``); inside :func:`batch`, contexts and
fetched slices are shared between the calls of one page view.

What the design is bound by (measured on the 2-core development machine): a DuckDB
query costs about 0.3 ms plus its planning, and planning grows with the statement —
a 3 KB statement with a handful of CTEs and joins takes 10–20 ms to plan, more than
running it at town scale. So the queries here are short scans of one rollup each
(no aggregation where a rollup row already is the answer), run through
``execute`` (``sql()`` binds every statement twice) for small results; the formulas
live in Polars, on frames of at most one row per sub-grid and month at town scale.

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

import warnings
from dataclasses import replace
from datetime import date, datetime
from functools import cached_property

import duckdb
import polars as pl

from metrics.config import THRESHOLD_TOLERANCE, Config, Threshold, default_config
from metrics.context_reports import REPORTS, ReportFrames
from metrics.context_vanguard import VANGUARD_PARTS, VanguardFrames
from metrics.filters import Filter
from metrics.frames import (
    _MONTH_KEYS,
    NO_DATE,
    _key,
    _month_params,
    _shared,
    batch,
    per_subgrid,
    shared_property,
)
from store import rollup_layout
from store.months import add_months
from store.rollup_layout import TYPE_KEYS, bound

# What the metric modules (and metrics.batch) take from here.
__all__ = [
    "ALL_CATEGORIES",
    "FINE_LIMIT",
    "NO_DATE",
    "VANGUARD_PARTS",
    "Context",
    "batch",
    "label_for",
    "ratio",
    "relations",
    "score",
]

ALL_CATEGORIES = "全部"
BUCKET_MODES = ("range", "month", "compare")
FINE_LIMIT = 25_000  # sub-grids × months up to which queries return per-month rows
PERFECT_HASH_BITS = 20  # key bits up to which large aggregations index an array
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


def relations(con: duckdb.DuckDBPyConnection, use_rollups: bool = True) -> dict[str, str]:
    """Rollup tables when built (and wanted), else the same rows computed directly;
    plus ``data_months`` and ``report`` (the reports with their sub-grid's keys)."""
    memo = _shared.get()
    if memo is not None and use_rollups:
        if "rollups_ready" not in memo:
            memo["rollups_ready"] = rollup_layout.rollups_ready(con)
        ready = memo["rollups_ready"]
    else:
        ready = use_rollups and rollup_layout.rollups_ready(con)
    if ready:
        out = {name: name for name in rollup_layout.TABLES}
        out["data_months"] = "(SELECT DISTINCT month FROM ru_village_month)"
    else:
        out = rollup_layout.direct_relations()
        out["data_months"] = (
            "(SELECT DISTINCT date_trunc('month', activity_date)::DATE AS month FROM activity)"
        )
    out["report"] = REPORTS.replace("{subgrids}", out["ru_subgrid"])
    return out


def label_for(thresholds: tuple[Threshold, ...], column: str) -> pl.Expr:
    """Polars expression: the label of the first threshold ``column`` reaches.

    Within :data:`~metrics.config.THRESHOLD_TOLERANCE` counts as reached: an index is
    a mean of sums of fractions, and one that is exactly on a threshold can come out a
    few units in the last place below it, depending on the order the engine adds up
    its members (which parallel aggregation does not fix)."""
    expr = pl.lit(thresholds[-1].label)
    for t in reversed(thresholds[:-1]):
        reached = pl.col(column) >= t.min - THRESHOLD_TOLERANCE
        expr = pl.when(reached).then(pl.lit(t.label)).otherwise(expr)
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


class Context(ReportFrames, VanguardFrames):
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
        self.con, self.f, self.buckets, self.use_rollups = con, f, buckets, use_rollups
        self.config = config or default_config()
        self.rel = relations(con, use_rollups)
        self.unit = f.unit_column
        self.span = f.previous().months + f.months if buckets == "compare" else f.months
        memo = _shared.get()
        scope = ("scope", f.start, f.end, f.village_id, config, use_rollups, buckets)
        self.store: dict = {} if memo is None else memo.setdefault(scope, {})

    @cached_property
    def base(self) -> Context:
        """The context of the whole database with this one's range, buckets and
        configuration (see :class:`per_subgrid`)."""
        return Context.of(
            self.con, replace(self.f, village_id=None), self.config, self.use_rollups, self.buckets
        )

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
        if self.store.get("fine", True):  # the scope queries run before it is known
            # A small result: ``execute`` binds the statement once where ``sql()`` binds
            # it twice (a third of a small query's cost); its extra copy of the rows
            # only shows on large results.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                table = self.con.execute(sql, values or None).to_arrow_table()
        else:
            # Large aggregations group by dense integer keys (sub-grid and member keys):
            # DuckDB's array-indexed "perfect hash" aggregate is 2–3 times faster than its
            # hash table there, but by default only used up to 2**12 groups.
            self.con.execute(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
            try:
                table = self.con.sql(sql, params=values or None).to_arrow_table()
            finally:
                self.con.execute("RESET perfect_ht_threshold")
        return pl.from_arrow(table)

    def fetch_months(self, sql: str, months: list[date], **params) -> pl.DataFrame:
        """Run a per-month query for ``months`` (bound as ``$months``, with ``$m_first``,
        ``$m_last`` and ``$m_after``; the result has a ``grain`` column holding the
        month). Inside a :func:`batch` each month is fetched once: a later call fetches
        only the months not seen yet, and reuses what was fetched for the others."""
        memo = _shared.get()
        values = bound(sql, {**self.base_params, **params, **_month_params(months)})
        if memo is None or not months:
            return self._run(sql, values)
        key = ("months", *_key(sql, {k: v for k, v in values.items() if k not in _MONTH_KEYS}))
        fetched: list[tuple[frozenset, pl.DataFrame]] = memo.setdefault(key, [])
        seen = frozenset().union(*(got for got, _ in fetched))
        missing = [m for m in months if m not in seen]
        if missing:
            month_values = {k: v for k, v in _month_params(missing).items() if k in values}
            fetched.append((frozenset(missing), self._run(sql, {**values, **month_values})))
        wanted = frozenset(months)
        parts = [(got, frame) for got, frame in fetched if got & wanted]
        got = frozenset().union(*(g for g, _ in parts))
        frame = parts[0][1] if len(parts) == 1 else pl.concat([f for _, f in parts])
        return frame if got == wanted else frame.filter(pl.col("grain").is_in(months))

    @shared_property
    def base_params(self) -> dict[str, object]:
        resp = self.config.response
        out = {
            **self.f.params(),
            **rollup_layout.params(),
            "span_start": self.span[0],
            "prev_start": self.f.previous().start,
            "cal_months": self.span,
            "cal_buckets": [self.bucket_of(m) for m in self.span],
            "accept_limit": resp.accept_limit_hours,
            "limit_default": resp.default_resolve_limit_hours,
        }
        for i, (category, hours) in enumerate(resp.resolve_limit_hours):
            out[f"limit_cat_{i}"], out[f"limit_h_{i}"] = category, hours
        return out

    def bucket_sql(self, month: str) -> str:
        """SQL: the bucket of a month column (a join with the calendar would keep DuckDB
        from its fastest aggregate)."""
        if self.buckets == "month":
            return month
        if self.buckets == "compare":
            return f"CASE WHEN {month} >= $start THEN $start ELSE $prev_start END"
        return "$start::DATE"

    def bucket_of(self, month: date) -> date:
        if self.buckets == "month":
            return month
        if self.buckets == "compare" and month < self.f.start:
            return self.f.previous().start
        return self.f.start

    # -- scope ---------------------------------------------------------------------------
    @shared_property
    def data_months(self) -> list[date]:
        """Every data month in the database, ascending (read with :attr:`registry`)."""
        if "data_months" in self.registry_rows.columns and self.registry_rows.height:
            months = self.registry_rows["data_months"][0]
            # An empty database has no data month: list() over no rows is NULL.
            return [] if months is None else months.to_list()
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
    def bucket_bounds(self) -> dict[date, tuple[date, date]]:
        """The first and last data month of each bucket with data."""
        out: dict[date, tuple[date, date]] = {}
        for m in self.data_span:
            b = self.bucket_of(m)
            out[b] = (out.get(b, (m, m))[0], m)
        return out

    @shared_property
    def as_of(self) -> datetime:
        """The end of the latest data month: 'now' for on-time decisions."""
        last = add_months(self.data_months[-1], 1) if self.data_months else date(9999, 1, 1)
        return datetime(last.year, last.month, 1)

    @shared_property
    def registry_rows(self) -> pl.DataFrame:
        """The registry in scope and, on every row, the data months (a list) and the
        number of sub-grids in the database: one query for what every computation
        starts from. A small database (see :attr:`whole`) comes whole, whatever the
        village: the whole database's context of the batch then reuses the fetch."""
        sql = f"""SELECT v.village_id, v.name AS village_name, v.town_id, v.town_name,
    s.subgrid_id, s.name AS subgrid_name, k.subgrid_key,
    (SELECT list(month ORDER BY month) FROM {self.rel["data_months"]}) AS data_months,
    (SELECT count(*) FROM subgrid) AS all_subgrids
FROM village v
LEFT JOIN subgrid s ON s.village_id = v.village_id
LEFT JOIN {self.rel["ru_subgrid"]} k ON k.subgrid_id = s.subgrid_id
WHERE $village IS NULL OR v.village_id = $village
   OR (SELECT count(*) FROM subgrid) <= $whole_subgrids
ORDER BY v.village_id, s.subgrid_id"""
        small = FINE_LIMIT // len(self.span)
        frame = self.fetch(sql, whole_subgrids=small)
        memo = _shared.get()
        if memo is not None and frame.height and frame["all_subgrids"][0] <= small:
            values = bound(sql, {**self.base_params, "whole_subgrids": small, "village": None})
            memo.setdefault(_key(sql, values), frame)
        return frame

    @shared_property
    def registry(self) -> pl.DataFrame:
        """Villages in scope with their sub-grids (null for a village without any)."""
        frame = self.registry_rows.drop("data_months", "all_subgrids")
        if self.f.village_id is None:
            return frame
        return frame.filter(pl.col("village_id") == self.f.village_id)

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

    @shared_property
    def key_range(self) -> dict[str, int | None]:
        """``k_first, k_last``: the sub-grid keys of the village in scope (a village's
        sub-grids are one key range, see :mod:`etl.rollups`); both null: none."""
        keys = self.sg["subgrid_key"]
        return {"k_first": keys.min(), "k_last": keys.max()}

    def in_scope(self, column: str) -> str:
        """SQL condition keeping rows of sub-grid keys in scope: a key range, which the
        rollups' sort order lets DuckDB prune on (``TRUE`` without a village)."""
        if self.f.village_id is None:
            return "TRUE"
        return f"{column} BETWEEN $k_first AND $k_last"

    def village_in_scope(self, column: str) -> str:
        """:meth:`in_scope` for a village id column."""
        if self.f.village_id is None:
            return "TRUE"
        return f"{column} = $village"

    def scoped(self, frame: pl.DataFrame, column: str = "subgrid_key") -> pl.DataFrame:
        """The rows of ``frame`` (of the whole database) in this context's scope."""
        if self.f.village_id is None:
            return frame
        if column == "village_id":
            return frame.filter(pl.col("village_id") == self.f.village_id)
        k = self.key_range
        return frame.filter(pl.col(column).is_between(k["k_first"], k["k_last"]))

    @shared_property
    def whole(self) -> bool:
        """Is the whole database small enough (sub-grids × months ≤ :data:`FINE_LIMIT`)
        for a village's context to take its rows from the whole database's (see
        :class:`per_subgrid`)?"""
        rows = self.registry_rows
        subgrids = rows["all_subgrids"][0] if rows.height else 0
        return subgrids * len(self.span) <= FINE_LIMIT

    # -- per-unit, per-grain sums -------------------------------------------------------------
    @shared_property
    def fine(self) -> bool:
        """Per-month rows (shareable) rather than per-bucket rows (small transfers)?"""
        return self.sg.height * len(self.span) <= FINE_LIMIT

    def sums(
        self,
        table: str,
        keys: list[str],
        columns: dict[str, str],
        where: str,
        months: list[date],
        per_month: bool = False,
        **params,
    ) -> pl.DataFrame:
        """Per ``keys`` and bucket, the sums of ``columns`` (name: SQL expression over
        the rows ``r`` of ``table``, which has ``month``) over ``months``.

        Small scope: one row per key and month (a rollup row already is one: no
        aggregation in SQL), summed per bucket in Polars (not at all with
        ``per_month``: the rows, with ``grain``); large scope: summed per bucket in
        SQL."""
        if self.fine:
            exprs = ",\n    ".join(f"{expr} AS {name}" for name, expr in columns.items())
            sql = f"""SELECT {", ".join(f"r.{k}" for k in keys)}, r.month AS grain,
    {exprs}
FROM {table} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {where}"""
            rows = self.fetch_months(sql, months, **params, **self.key_range)
            if per_month:
                return rows
            if self.buckets == "month":  # one row per key and month already
                return rows.rename({"grain": "bucket"})
            return (
                rows.join(self.cal, left_on="grain", right_on="month")
                .group_by(*keys, "bucket")
                .agg(pl.col(c).sum() for c in columns)
            )
        exprs = ",\n    ".join(f"sum({expr}) AS {name}" for name, expr in columns.items())
        bucket = self.bucket_sql("r.month")
        sql = f"""SELECT {", ".join(f"r.{k}" for k in keys)}, {bucket} AS bucket,
    {exprs}
FROM {table} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)
  AND {where}
GROUP BY ALL"""
        return self.fetch(sql, **params, **self.key_range, **_month_params(months))

    def requirement_columns(self, level: str) -> dict[str, str]:
        """Per requirement ``i`` of a level: ``met_i`` (months it was met) and ``held_i``
        (activities of its type), for the 制度落实 matrix."""
        out = {}
        for i, r in enumerate(self.config.coverage.requirements):
            if r.level == level:
                k = TYPE_KEYS[r.activity_type]
                out[f"met_{i}"] = f"(r.held_{k} >= $req_{i})::BIGINT"
                out[f"held_{i}"] = f"r.held_{k}::BIGINT"
        return out

    def requirement_terms(self, level: str) -> tuple[list[str], dict[str, int]]:
        """SQL terms ``(held_k >= $req_i)::INTEGER`` of the requirements of a level."""
        terms, values = [], {}
        for i, r in enumerate(self.config.coverage.requirements):
            if r.level == level:
                terms.append(f"(r.held_{TYPE_KEYS[r.activity_type]} >= $req_{i})::INTEGER")
                values[f"req_{i}"] = r.min_count
        return terms, values

    def _sgb_spec(self) -> tuple[dict[str, str], dict[str, object]]:
        """The columns :attr:`sgb` sums (name: SQL over ``ru_subgrid_month`` rows ``r``)
        and the values they bind."""
        terms, values = self.requirement_terms("subgrid")
        met = " + ".join(terms) or "0"
        va = self.config.vanguard
        keys = [TYPE_KEYS[t] for t in va.org_life_types]
        credit = " + ".join(
            f"$present_credit * r.present_{k} + $leave_credit * r.leave_{k}" for k in keys
        )
        held = " + ".join(f"r.held_{k}" for k in keys)
        columns = {
            "met": f"({met})::BIGINT",
            "compliant": f"({met} = $n_req)::BIGINT",
            "member_months": "r.members::BIGINT",
            "reached": "r.reached::BIGINT",
            "reached_home": "r.reached_home::BIGINT",
            "volunteer_members": "r.volunteer_members::BIGINT",
            "org_credit": f"({credit})::DOUBLE",
            "org_expected": f"(r.members * ({held}))::BIGINT",
            "held_org": f"({held})::BIGINT",  # 组织生活 due per member (先锋指数)
        }
        if self.fine:  # cheap here; read by the 制度落实 matrix
            columns |= self.requirement_columns("subgrid")
        values |= {
            "n_req": len(terms),
            "present_credit": va.present_credit,
            "leave_credit": va.leave_credit,
        }
        return columns, values

    @per_subgrid()
    def sgb(self) -> pl.DataFrame:
        """Sub-grid × bucket sums over the data months: ``months, due, met, compliant``
        (fully compliant months), ``member_months, reached, reached_home,
        volunteer_members, org_credit, org_expected, held_org`` and per requirement
        ``met_i, held_i`` — every sub-grid in scope × every bucket with data."""
        columns, values = self._sgb_spec()
        sums = self.sums(
            self.rel["ru_subgrid_month"],
            ["subgrid_key"],
            columns,
            self.in_scope("r.subgrid_key"),
            self.data_span,
            **values,
        )
        # A sub-grid without rollup rows (none after a full refresh) counts zeros.
        return (
            self.sg.select("subgrid_id", "subgrid_key", "village_id", "town_id")
            .join(self.bucket_months, how="cross")
            .join(sums, on=["subgrid_key", "bucket"], how="left")
            .with_columns(
                *[pl.col(c).fill_null(0).cast(pl.Int64) for c in columns if c != "org_credit"],
                pl.col("org_credit").fill_null(0.0).cast(pl.Float64),
                due=pl.col("months") * len(self.requirement_terms("subgrid")[0]),
            )
        )

    def sg_month_rows(self) -> pl.DataFrame:
        """Small scope only: the :attr:`sgb` columns per sub-grid and data month of the
        span (``subgrid_key, grain``; the rows :attr:`sgb` sums, from the same fetch)."""
        columns, values = self._sgb_spec()
        return self.sums(
            self.rel["ru_subgrid_month"],
            ["subgrid_key"],
            columns,
            self.in_scope("r.subgrid_key"),
            self.data_span,
            per_month=True,
            **values,
        )

    @per_subgrid("village_id")
    def vgb(self) -> pl.DataFrame:
        """Village × bucket: village-level requirements ``due`` and ``met``."""
        terms, values = self.requirement_terms("village")
        frame = self.vg.select("village_id", "town_id").join(self.bucket_months, how="cross")
        if not terms:
            return frame.with_columns(due=pl.lit(0, pl.Int64), met=pl.lit(0, pl.Int64))
        columns = {"met": f"({' + '.join(terms)})::BIGINT"}
        if self.fine:
            columns |= self.requirement_columns("village")
        sums = self.sums(
            self.rel["ru_village_month"],
            ["village_id"],
            columns,
            self.village_in_scope("r.village_id"),
            self.data_span,
            **values,
        )
        return frame.join(sums, on=["village_id", "bucket"], how="left").with_columns(
            *[pl.col(c).fill_null(0).cast(pl.Int64) for c in columns],
            due=pl.col("months") * len(terms),
        )

    # -- surveys and deductions -------------------------------------------------------------
    @shared_property
    def deductions(self) -> pl.DataFrame:
        """The deductions of the span's calendar months with their ``bucket``:
        ``unit_id, points, subgrid_key, on_subgrid, on_person, person_key``."""
        rows = self.fetch_months(
            f"""SELECT r.unit_id, r.month AS grain, r.points, r.subgrid_key, r.on_subgrid,
    r.on_person, r.person_key
FROM {self.rel["ru_deduction"]} r
WHERE r.month BETWEEN $m_first AND $m_last AND list_contains($months::DATE[], r.month)""",
            self.span,
        )
        return rows.join(self.cal, left_on="grain", right_on="month").drop("grain")

    @shared_property
    def unit_points(self) -> pl.DataFrame:
        """``unit_id, bucket, points``: deductions per unit id (of any kind) and bucket."""
        return self.deductions.group_by("unit_id", "bucket").agg(pl.col("points").sum())

    @shared_property
    def person_points(self) -> pl.DataFrame:
        """``subgrid_key, bucket, points``: deductions of people, by their sub-grid."""
        return (
            self.deductions.filter(pl.col("on_person") & pl.col("subgrid_key").is_not_null())
            .group_by("subgrid_key", "bucket")
            .agg(pl.col("points").sum())
        )

    @per_subgrid()
    def survey(self) -> pl.DataFrame:
        """``subgrid_key, bucket, survey_score``: the mean over the bucket's calendar
        months of the mean score of the survey periods covering each month."""
        fo = self.config.fortress
        rows = self.fetch_months(
            f"""SELECT s.subgrid_key, m.month AS grain, avg(s.score) AS score
FROM {self.rel["ru_survey"]} s
JOIN (SELECT unnest($months::DATE[]) AS month) m ON m.month BETWEEN s.p_start AND s.p_end
WHERE s.index_name = $survey_index AND s.rater = $survey_rater
  AND {self.in_scope("s.subgrid_key")}
GROUP BY ALL""",
            self.span,
            survey_index=fo.survey_index,
            survey_rater=fo.survey_rater,
            **self.key_range,
        )
        return (
            rows.join(self.cal, left_on="grain", right_on="month")
            .group_by("subgrid_key", "bucket")
            .agg(survey_score=pl.col("score").mean())
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

    @per_subgrid()
    def facts(self) -> pl.DataFrame:
        """Sub-grid × bucket: the :attr:`sgb` sums, the report sums
        (:attr:`report_sums`), ``survey_score`` (:attr:`survey`) and ``points``
        (deductions on the sub-grid) — every sub-grid in scope × every bucket with
        data. This is what the 堡垒指数 and the pooled sums read."""
        points = (
            self.deductions.filter(pl.col("on_subgrid"))
            .group_by("subgrid_key", "bucket")
            .agg(pl.col("points").sum())
        )
        return (
            self.sgb.join(self.report_sums, on=["subgrid_key", "bucket"], how="left")
            .join(self.survey, on=["subgrid_key", "bucket"], how="left")
            .join(points, on=["subgrid_key", "bucket"], how="left")
            .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in REPORT_SUMS)
        )

    # -- 堡垒指数 ----------------------------------------------------------------------------
    @per_subgrid()
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

    @per_subgrid("village_id")
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
