"""The keys a batch wrote: the undo bookkeeping kept in ``upload_keys``.

Per batch and kind, the natural keys the batch inserted or replaced are kept as one
compact Parquet blob (writing 1M keys that way costs a third of a keys table's
insert); undo (:mod:`etl.undo`), which is rare, reads them back with Polars.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import Future

import duckdb
import polars as pl

from etl.validation.typed_table import POLARS_TYPES
from store.contracts import Kind
from store.database import run_sql


class KeyBlobs:
    """The undo-key blob of each table, made once by whichever thread asks first.

    The writer asks after its insert; the loader's rule checker, once its rules are
    done, asks ahead for the tables it knows will be written whole. A thread asking
    for a blob another one is making waits for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[int, Future] = {}

    def get(self, part: int, keys: pl.DataFrame) -> bytes:
        """The blob of table ``part``, whose key columns are ``keys``."""
        with self._lock:
            future = self._blobs.get(part)
            mine = future is None
            if mine:
                future = self._blobs[part] = Future()
        if mine:
            try:
                future.set_result(keys_blob(keys))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()


def key_match(kind: Kind, left: str, right: str) -> str:
    """SQL condition joining two aliases on the natural key of ``kind``."""
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in kind.key)


def keys_blob(keys: pl.DataFrame) -> bytes:
    """Natural keys as compact Parquet (dictionary-encoded, LZ4): ~2 MB per 1M sign-ins."""
    buffer = io.BytesIO()
    keys.write_parquet(buffer, compression="lz4", statistics=False)
    return buffer.getvalue()


def read_keys_blob(blob: bytes) -> pl.DataFrame:
    """The keys frame a :func:`keys_blob` holds."""
    return pl.read_parquet(io.BytesIO(blob))


def batch_keys(con: duckdb.DuckDBPyConnection, batch_id: int, kind: Kind) -> pl.DataFrame:
    """The keys of ``kind`` that batch ``batch_id`` wrote."""
    rows = run_sql(
        con, "SELECT keys FROM upload_keys WHERE batch_id = ? AND kind = ?", [batch_id, kind.name]
    )
    frames = [read_keys_blob(r[0]) for r in rows]
    if frames:
        return pl.concat(frames)
    return pl.DataFrame(schema={k: POLARS_TYPES[kind.column(k).dtype] for k in kind.key})
