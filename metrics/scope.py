"""The village scope a caller is held to, enforced at every public metric function.

A 村居书记 may see their own village and nothing else, whatever a page, a URL, the
filters or an export ask for. The caller (the dashboard for each script run, the CLI
for ``--user``) sets the scope with :func:`restricted_to`; every public function of
the metrics layer is wrapped with :func:`scoped`, which then

* narrows a request for the whole town (``Filter.village_id is None`` or
  ``village_id=None``) to the allowed village, and
* refuses a request for another village with :class:`ScopeDenied`.

The scope lives in a :class:`contextvars.ContextVar`: each thread (one per Streamlit
script run) and each ``asyncio`` task has its own, so concurrent sessions never see
each other's scope. Callers that cache results must key the cache on
:func:`current` as well (``ui.db.query`` does).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TypeVar

from metrics.filters import Filter

_ALL = None
_scope: ContextVar[str | None] = ContextVar("metrics_village_scope", default=_ALL)

F = TypeVar("F", bound=Callable)


class ScopeDenied(PermissionError):
    """A request for data outside the caller's village scope (message in Chinese)."""


def current() -> str | None:
    """The only village the current caller may see, or None for all villages."""
    return _scope.get()


def set_scope(village_id: str | None) -> None:
    """Hold the current thread/context to ``village_id`` (None: all villages).

    The dashboard calls this at the start of every script run, so a thread reused for
    another session's run never keeps an earlier user's scope.
    """
    _scope.set(village_id or _ALL)


@contextmanager
def restricted_to(village_id: str | None) -> Iterator[None]:
    """Within the block, metric functions see only ``village_id`` (None: all)."""
    token = _scope.set(village_id or _ALL)
    try:
        yield
    finally:
        _scope.reset(token)


def allowed_village(requested: str | None) -> str | None:
    """The village a request may see: ``requested`` itself, or the scope's village when
    the request is for the whole town; :class:`ScopeDenied` for another village."""
    allowed = current()
    if allowed is None:
        return requested
    if requested is None or requested == allowed:
        return allowed
    raise ScopeDenied(f"无权查看村居 {requested} 的数据：当前账号只能查看 {allowed}。")


def allowed_filter(f: Filter) -> Filter:
    """``f`` narrowed to the scope (see :func:`allowed_village`)."""
    village = allowed_village(f.village_id)
    return f if village == f.village_id else replace(f, village_id=village)


def scoped(function: F) -> F:
    """Enforce the scope on ``function``'s :class:`Filter` and ``village_id`` arguments."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if current() is None:
            return function(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if isinstance(value, Filter):
                bound.arguments[name] = allowed_filter(value)
            elif name == "village_id":
                bound.arguments[name] = allowed_village(value)
        return function(*bound.args, **bound.kwargs)

    wrapper.__scoped__ = True
    return wrapper  # type: ignore[return-value]


def unscoped(function: F) -> F:
    """Mark a public function as holding nothing village-specific (months, texts)."""
    function.__scoped__ = False
    return function
