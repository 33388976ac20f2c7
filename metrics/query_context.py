"""The query context of one metric computation: what every metric starts from.

A :class:`Context` binds a connection, a :class:`~metrics.filters.Filter`, the
configuration and a *bucket mode*; it runs the engine's queries (bound parameters,
shared inside a :func:`~metrics.batch_cache.batch`), knows the data months and their
buckets, and the units in scope. What the metrics compute from it lives in the modules
named for it (activity_sums, reports, deductions_and_surveys, unit_totals,
fortress_index, vanguard_index).

What the design is bound by (measured on the 2-core development machine; see
docs/performance.md): a DuckDB query costs about 0.3 ms plus its planning, and
planning grows with the statement — a 3 KB statement with a handful of CTEs and joins
takes 10–20 ms to plan, more than running it at town scale. So the queries are short
scans of one rollup each (no aggregation where a rollup row already is the answer),
run through ``execute`` (``sql()`` binds every statement twice) for small results; the
formulas live in Polars, on frames of at most one row per sub-grid and month at town
scale.

*Scope size*: for a small scope (sub-grids × months ≤ :data:`SMALL_SCOPE_LIMIT`) the
queries return one row per unit and month, so that calls with other buckets reuse them
(per month) inside a batch; for a large scope (a city) they aggregate to the buckets
in SQL, so that only one row per unit and bucket crosses into Polars. Same numbers.

*Buckets* group months: ``range`` (the filter's range, bucket = its first month),
``month`` (every month its own bucket) or ``compare`` (the range and the equally long
range before it, bucket = the first month of each). Only *data months* (with at least
one activity) form buckets: a month nobody has uploaded is left out rather than scored
zero (docs/metrics.md). Reports and deductions are bucketed by calendar month.

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

from metrics.batch_cache import (
    batch_store,
    fetch_months_once,
    fetch_once,
    month_params,
    query_key,
    shared_in_scope,
)
from metrics.config import Config, default_config
from metrics.filters import Filter
from metrics.sources import REGISTRY_ROWS, relations
from store import rollup_layout
from store.months import add_months
from store.rollup_layout import bound

BUCKET_MODES = ("range", "month", "compare")
SMALL_SCOPE_LIMIT = 25_000  # sub-grids × months up to which queries return per-month rows
PERFECT_HASH_BITS = 20  # key bits up to which large aggregations index an array
SMALL_SCOPE_KEY = "small_scope"  # in the scope store; Context._execute reads it early


class Context:
    """One metric computation: connection, filter, configuration and bucket mode.

    Create it with :meth:`of`. Inside a batch, calls with the same filter,
    configuration and bucket mode get the same context; contexts differing only in
    level share everything that does not depend on the level (the fetched slices and
    the per-sub-grid frames, in :attr:`scope_store`); and a ``range`` context reuses a
    ``compare`` context of the same range when the page already built one (its range
    is the current bucket). Frames carry a ``bucket`` column; :meth:`range_rows` keeps
    the range's.
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
        """The context of these arguments (the batch's one when a batch is open)."""
        memo = batch_store()
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
        self.con, self.filter, self.bucket_mode, self.use_rollups = con, f, buckets, use_rollups
        self.config = config or default_config()
        self.tables = relations(con, use_rollups)
        self.unit_column = f.unit_column
        self.span_months = f.previous().months + f.months if buckets == "compare" else f.months
        memo = batch_store()
        scope = ("scope", f.start, f.end, f.village_id, config, use_rollups, buckets)
        # Shared by the contexts of this scope at every level (see metrics.batch_cache).
        self.scope_store: dict = {} if memo is None else memo.setdefault(scope, {})
        self.own_results: dict = {}  # what depends on the level (batch_cache.per_context)

    @cached_property
    def whole_database(self) -> Context:
        """The context of the whole database with this one's range, buckets and
        configuration (see :func:`~metrics.batch_cache.per_subgrid`)."""
        return Context.of(
            self.con,
            replace(self.filter, village_id=None),
            self.config,
            self.use_rollups,
            self.bucket_mode,
        )

    def range_rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``frame`` for the filter's own range (its first month's bucket)."""
        if self.bucket_mode == "month":
            raise ValueError("range_rows() needs range buckets")
        return frame.filter(pl.col("bucket") == self.filter.start)

    # -- queries -----------------------------------------------------------------------------
    def fetch(self, sql: str, **params) -> pl.DataFrame:
        """Run a query with bound parameters (only those it names) into a Polars frame
        (shared inside a batch)."""
        values = bound(sql, {**self.query_values, **params})
        return fetch_once(sql, values, self._execute)

    def fetch_by_month(self, sql: str, months: list[date], **params) -> pl.DataFrame:
        """Run a per-month query for ``months`` (bound as ``$months``, with ``$m_first``,
        ``$m_last`` and ``$m_after``; the result has a ``grain`` column holding the
        month). Inside a batch each month is fetched once (see
        :func:`~metrics.batch_cache.fetch_months_once`)."""
        values = bound(sql, {**self.query_values, **params, **month_params(months)})
        return fetch_months_once(sql, values, months, self._execute)

    def _execute(self, sql: str, values: dict) -> pl.DataFrame:
        # Until the scope's size is known (the registry query decides it) take it as small.
        if self.scope_store.get(SMALL_SCOPE_KEY, True):
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

    @property
    @shared_in_scope
    def query_values(self) -> dict[str, object]:
        """The values every query may bind: the filter's, the rollups', the span and its
        buckets, and the response limits (``limit_cat_i``/``limit_h_i`` per category)."""
        resp = self.config.response
        out = {
            **self.filter.params(),
            **rollup_layout.params(),
            "span_start": self.span_months[0],
            "prev_start": self.filter.previous().start,
            "cal_months": self.span_months,
            "cal_buckets": [self.bucket_of(m) for m in self.span_months],
            "accept_limit": resp.accept_limit_hours,
            "limit_default": resp.default_resolve_limit_hours,
        }
        for i, (category, hours) in enumerate(resp.resolve_limit_hours):
            out[f"limit_cat_{i}"], out[f"limit_h_{i}"] = category, hours
        return out

    # -- buckets and data months ---------------------------------------------------------------
    def bucket_sql(self, month: str) -> str:
        """SQL: the bucket of a month column (a join with the calendar would keep DuckDB
        from its fastest aggregate)."""
        if self.bucket_mode == "month":
            return month
        if self.bucket_mode == "compare":
            return f"CASE WHEN {month} >= $start THEN $start ELSE $prev_start END"
        return "$start::DATE"

    def bucket_of(self, month: date) -> date:
        """The bucket (its first month) a month of the span falls in."""
        if self.bucket_mode == "month":
            return month
        if self.bucket_mode == "compare" and month < self.filter.start:
            return self.filter.previous().start
        return self.filter.start

    @property
    @shared_in_scope
    def data_months(self) -> list[date]:
        """Every data month in the database, ascending (read with :attr:`registry`)."""
        if "data_months" in self.registry_rows.columns and self.registry_rows.height:
            months = self.registry_rows["data_months"][0]
            # An empty database has no data month: list() over no rows is NULL.
            return [] if months is None else months.to_list()
        frame = self.fetch(f"SELECT month FROM {self.tables['data_months']} ORDER BY month")
        return frame["month"].to_list()

    @property
    @shared_in_scope
    def span_data_months(self) -> list[date]:
        """The data months of the span, ascending."""
        present = set(self.data_months)
        return [m for m in self.span_months if m in present]

    @property
    @shared_in_scope
    def range_data_months(self) -> list[date]:
        """The data months of the filter's own range (the span may reach back before)."""
        return [m for m in self.span_data_months if m >= self.filter.start]

    @property
    @shared_in_scope
    def calendar(self) -> pl.DataFrame:
        """``month, bucket``: the calendar months of the span with their bucket."""
        return pl.DataFrame(
            {"month": self.span_months, "bucket": self.query_values["cal_buckets"]},
            schema={"month": pl.Date, "bucket": pl.Date},
        )

    @property
    @shared_in_scope
    def months_per_bucket(self) -> pl.DataFrame:
        """``bucket, months`` (data months per bucket, only buckets with data)."""
        counts: dict[date, int] = {}
        for m in self.span_data_months:
            counts[self.bucket_of(m)] = counts.get(self.bucket_of(m), 0) + 1
        return pl.DataFrame(
            {"bucket": list(counts), "months": list(counts.values())},
            schema={"bucket": pl.Date, "months": pl.Int64},
        )

    @property
    @shared_in_scope
    def bucket_bounds(self) -> dict[date, tuple[date, date]]:
        """The first and last data month of each bucket with data."""
        out: dict[date, tuple[date, date]] = {}
        for m in self.span_data_months:
            b = self.bucket_of(m)
            out[b] = (out.get(b, (m, m))[0], m)
        return out

    @property
    @shared_in_scope
    def as_of(self) -> datetime:
        """The end of the latest data month: 'now' for on-time decisions."""
        last = add_months(self.data_months[-1], 1) if self.data_months else date(9999, 1, 1)
        return datetime(last.year, last.month, 1)

    # -- units in scope ----------------------------------------------------------------------
    @property
    @shared_in_scope
    def registry_rows(self) -> pl.DataFrame:
        """The registry in scope and, on every row, the data months (a list) and the
        number of sub-grids in the database: one query for what every computation
        starts from. A small database (see :attr:`whole_database_is_small`) comes
        whole, whatever the village: the whole database's context of the batch then
        reuses the fetch."""
        sql = REGISTRY_ROWS.format(
            data_months=self.tables["data_months"], subgrids=self.tables["ru_subgrid"]
        )
        small = SMALL_SCOPE_LIMIT // len(self.span_months)
        frame = self.fetch(sql, whole_subgrids=small)
        memo = batch_store()
        if memo is not None and frame.height and frame["all_subgrids"][0] <= small:
            values = bound(sql, {**self.query_values, "whole_subgrids": small, "village": None})
            memo.setdefault(query_key(sql, values), frame)
        return frame

    @property
    @shared_in_scope
    def registry(self) -> pl.DataFrame:
        """Villages in scope with their sub-grids (null for a village without any)."""
        frame = self.registry_rows.drop("data_months", "all_subgrids")
        if self.filter.village_id is None:
            return frame
        return frame.filter(pl.col("village_id") == self.filter.village_id)

    @property
    @shared_in_scope
    def subgrids(self) -> pl.DataFrame:
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

    @property
    @shared_in_scope
    def villages(self) -> pl.DataFrame:
        """Villages in scope with their town."""
        return self.registry.select("village_id", "village_name", "town_id", "town_name").unique(
            "village_id", maintain_order=True
        )

    @cached_property
    def units(self) -> pl.DataFrame:
        """``unit_id, unit_name`` of the units of the filter's level in scope."""
        if self.filter.level == "subgrid":
            frame = self.subgrids.select(unit_id="subgrid_id", unit_name="subgrid_name")
        elif self.filter.level == "village":
            frame = self.villages.select(unit_id="village_id", unit_name="village_name")
        else:
            frame = self.villages.select(unit_id="town_id", unit_name="town_name").unique(
                "unit_id", maintain_order=True
            )
        return frame.sort("unit_id")

    def units_by_bucket(self) -> pl.DataFrame:
        """Every unit × bucket with data: ``unit_id, unit_name, bucket, months``."""
        return self.units.join(self.months_per_bucket, how="cross")

    @property
    @shared_in_scope
    def subgrid_key_range(self) -> dict[str, int | None]:
        """``k_first, k_last``: the sub-grid keys of the village in scope (a village's
        sub-grids are one key range, see docs/data.md); both null: none."""
        keys = self.subgrids["subgrid_key"]
        return {"k_first": keys.min(), "k_last": keys.max()}

    def subgrid_in_scope_sql(self, column: str) -> str:
        """SQL condition keeping rows of sub-grid keys in scope: a key range, which the
        rollups' sort order lets DuckDB prune on (``TRUE`` without a village)."""
        if self.filter.village_id is None:
            return "TRUE"
        return f"{column} BETWEEN $k_first AND $k_last"

    def village_in_scope_sql(self, column: str) -> str:
        """:meth:`subgrid_in_scope_sql` for a village id column."""
        if self.filter.village_id is None:
            return "TRUE"
        return f"{column} = $village"

    def rows_in_scope(self, frame: pl.DataFrame, column: str = "subgrid_key") -> pl.DataFrame:
        """The rows of ``frame`` (of the whole database) in this context's scope."""
        if self.filter.village_id is None:
            return frame
        if column == "village_id":
            return frame.filter(pl.col("village_id") == self.filter.village_id)
        k = self.subgrid_key_range
        return frame.filter(pl.col(column).is_between(k["k_first"], k["k_last"]))

    @property
    @shared_in_scope
    def whole_database_is_small(self) -> bool:
        """Is the whole database small enough (sub-grids × months ≤
        :data:`SMALL_SCOPE_LIMIT`) for a village's context to take its rows from the
        whole database's (see :func:`~metrics.batch_cache.per_subgrid`)?"""
        rows = self.registry_rows
        subgrids = rows["all_subgrids"][0] if rows.height else 0
        return subgrids * len(self.span_months) <= SMALL_SCOPE_LIMIT

    @property
    def small_scope(self) -> bool:
        """Per-month rows (shareable) rather than per-bucket rows (small transfers)?"""
        store = self.scope_store
        if SMALL_SCOPE_KEY not in store:
            store[SMALL_SCOPE_KEY] = (
                self.subgrids.height * len(self.span_months) <= SMALL_SCOPE_LIMIT
            )
        return store[SMALL_SCOPE_KEY]
