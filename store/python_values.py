"""Python functions over frame values, run in the calling thread, never inside polars.

polars runs a ``map_elements`` callback on its worker threads, and each call must take
the GIL there. The dashboard runs every session's script as a thread of one process,
and some polars calls (``DataFrame.to_pandas``, which ``st.dataframe`` makes) hold the
GIL while they wait for the same workers: one session converting a table while another
ran a callback froze the whole server (docs/decisions/0019). So product code hands
polars no Python: these helpers read the values out, map them here and give back a
Series. ``tests/test_no_python_in_polars.py`` keeps it that way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl


def mapped(
    values: pl.Series,
    fn: Callable[[Any], Any],
    dtype: pl.DataType | type[pl.DataType],
    *,
    name: str | None = None,
    skip_nulls: bool = True,
) -> pl.Series:
    """``fn`` applied to each value of ``values`` (nulls stay null unless
    ``skip_nulls=False``), as a Series of ``dtype`` named ``name`` (default: the
    input's name)."""
    out = [None if value is None and skip_nulls else fn(value) for value in values.to_list()]
    return pl.Series(name or values.name, out, dtype=dtype)


def mapped_rows(
    frame: pl.DataFrame,
    fn: Callable[[dict[str, Any]], Any],
    dtype: pl.DataType | type[pl.DataType],
    *,
    name: str,
) -> pl.Series:
    """``fn`` applied to each row of ``frame`` (as a dict of column → value)."""
    return pl.Series(name, [fn(row) for row in frame.iter_rows(named=True)], dtype=dtype)
