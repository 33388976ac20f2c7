"""How a page view's metric calls share their work (internal to the package).

:func:`batch` opens a store for one page view; :class:`shared_property` and
:class:`per_subgrid` cache a :class:`~metrics.context.Context`'s frames in it, and
the query helpers key fetched results on their SQL and bound values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from store.months import add_months

NO_DATE = date(1, 1, 1)

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


class per_subgrid(shared_property):
    """A :class:`shared_property` of rows per sub-grid (``subgrid_key``) or per village
    (``village_id``): a village's context on a small database (:attr:`Context.whole`)
    takes the rows of the whole database's context of the same range and buckets —
    computed once per batch for every village of a page — and keeps its own."""

    def __init__(self, column: str = "subgrid_key"):
        self.column = column

    def __call__(self, func):
        super().__init__(func)
        return self

    def __get__(self, ctx, owner=None):
        if ctx is None:
            return self
        if ctx.f.village_id is None or not ctx.whole:
            return super().__get__(ctx, owner)
        if self.name not in ctx.store:
            ctx.store[self.name] = ctx.scoped(getattr(ctx.base, self.name), self.column)
        return ctx.store[self.name]


_MONTH_KEYS = ("months", "m_first", "m_last", "m_after")


def _month_params(months: list[date]) -> dict[str, object]:
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
