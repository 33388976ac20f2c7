"""How the metric calls of one page view share their work: the batch cache.

:func:`batch` opens a store for one page view. Inside it, contexts with the same
filter are shared (:meth:`metrics.query_context.Context.of`), each distinct query runs
once (:func:`fetch_once`; per month for per-month slices, :func:`fetch_months_once`)
and the frames the engine modules compute are cached with the decorators here:

* :func:`shared_in_scope` — once per range, village, configuration and bucket mode,
  whatever the level (the *scope store* of a context);
* :func:`per_subgrid` — the same, and a village's context on a small database takes
  the rows of the whole database's context and keeps its own;
* :func:`per_context` — once per context (results that depend on the level).

Outside a batch every context has stores of its own, so each call computes afresh.
See docs/performance.md for the measurements behind this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from operator import attrgetter
from typing import Any

import polars as pl

from store.months import add_months

NO_DATE = date(1, 1, 1)  # bound for an empty list of months (matches nothing)
MONTH_PARAMS = ("months", "m_first", "m_last", "m_after")

_batch: ContextVar[dict | None] = ContextVar("metrics_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Share work between the metric calls made inside (one page view).

    Every DuckDB query costs a few milliseconds however small, and the calls a page
    makes need much the same slices. Inside ``with batch():`` calls with the same
    filter share one context, and each distinct query runs once (per month, for
    per-month slices). Use one batch per page view on one database: nothing in it is
    invalidated when the data change, so never keep a batch open across a load.
    Nested batches share the outer one.
    """
    if _batch.get() is not None:
        yield
        return
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def batch_store() -> dict | None:
    """The store of the open :func:`batch` (None outside one)."""
    return _batch.get()


def query_key(sql: str, values: dict) -> tuple:
    """The batch store's key of a query: its text and bound values (lists frozen)."""
    frozen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(values.items()))
    return (sql, frozen)


def month_params(months: list[date]) -> dict[str, object]:
    """``$months`` and the range around them (``$m_first``, ``$m_last``, ``$m_after``
    the first day after the last), so that a scan both prunes and picks."""
    if not months:
        return {"months": [], "m_first": NO_DATE, "m_last": NO_DATE, "m_after": NO_DATE}
    return {
        "months": list(months),
        "m_first": min(months),
        "m_last": max(months),
        "m_after": add_months(max(months), 1),
    }


Run = Callable[[str, dict], pl.DataFrame]


def fetch_once(sql: str, values: dict, run: Run) -> pl.DataFrame:
    """``run(sql, values)``, once per batch for the same query and values."""
    memo = _batch.get()
    if memo is None:
        return run(sql, values)
    key = query_key(sql, values)
    if key not in memo:
        memo[key] = run(sql, values)
    return memo[key]


def fetch_months_once(sql: str, values: dict, months: list[date], run: Run) -> pl.DataFrame:
    """``run(sql, values)`` of a per-month query (``values`` bind ``months`` as
    :func:`month_params`; the rows have the month in ``grain``), fetching each month
    once per batch: a later call runs the query only for the months not seen yet, and
    reuses what was fetched for the others."""
    memo = _batch.get()
    if memo is None or not months:
        return run(sql, values)
    other_values = {k: v for k, v in values.items() if k not in MONTH_PARAMS}
    key = ("months", *query_key(sql, other_values))
    fetched: list[tuple[frozenset, pl.DataFrame]] = memo.setdefault(key, [])
    seen = frozenset().union(*(got for got, _ in fetched))
    missing = [m for m in months if m not in seen]
    if missing:
        month_values = {k: v for k, v in month_params(missing).items() if k in values}
        fetched.append((frozenset(missing), run(sql, {**values, **month_values})))
    wanted = frozenset(months)
    parts = [(got, frame) for got, frame in fetched if got & wanted]
    got = frozenset().union(*(g for g, _ in parts))
    frame = parts[0][1] if len(parts) == 1 else pl.concat([f for _, f in parts])
    return frame if got == wanted else frame.filter(pl.col("grain").is_in(months))


Frame = Callable[[Any], Any]


def _cache_key(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _cached_in(store_of: Callable[[Any], dict], function: Frame) -> Frame:
    """``function(ctx)`` cached in the dict ``store_of(ctx)``."""
    key = _cache_key(function)

    @functools.wraps(function)
    def cached(ctx):
        store = store_of(ctx)
        if key not in store:
            store[key] = function(ctx)
        return store[key]

    cached.cache_key = key
    return cached


def shared_in_scope(function: Frame) -> Frame:
    """Cache ``function(ctx)`` in the context's scope store: contexts of the same range,
    village, configuration and bucket mode (any level) share the value."""
    return _cached_in(attrgetter("scope_store"), function)


def per_subgrid(column: str = "subgrid_key") -> Callable[[Frame], Frame]:
    """Like :func:`shared_in_scope`, for rows per sub-grid (``subgrid_key``) or per
    village (``village_id``): a village's context on a small database (see
    ``Context.whole_database_is_small``) takes the rows of the whole database's
    context of the same range and buckets — computed once per batch for every village
    of a page — and keeps its own."""

    def decorate(function: Frame) -> Frame:
        key = _cache_key(function)

        @functools.wraps(function)
        def cached(ctx):
            store = ctx.scope_store
            if key not in store:
                if ctx.filter.village_id is not None and ctx.whole_database_is_small:
                    store[key] = ctx.rows_in_scope(cached(ctx.whole_database), column)
                else:
                    store[key] = function(ctx)
            return store[key]

        cached.cache_key = key
        return cached

    return decorate


def per_context(function: Frame) -> Frame:
    """Cache ``function(ctx)`` on the context itself (a value that depends on its
    level, which contexts sharing a scope store do not share)."""
    return _cached_in(attrgetter("own_results"), function)


def already_computed(ctx, frame: Frame) -> bool:
    """Has ``frame`` (a function decorated with :func:`shared_in_scope` or
    :func:`per_subgrid`) been computed for ``ctx``'s scope already?"""
    return frame.cache_key in ctx.scope_store
