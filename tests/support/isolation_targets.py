"""Functions the isolation tests run in the reading child (importable by the server)."""

from __future__ import annotations

import os
import time


def allocate(megabytes: int) -> int:
    """Touch ``megabytes`` of memory (a reader asking for too much)."""
    block = bytearray(megabytes * 2**20)
    block[::4096] = b"x" * len(block[::4096])
    return len(block)


def allocate_in_polars(rows: int) -> int:
    """Make Polars (Rust, not Python) allocate a large frame."""
    import polars as pl

    return pl.int_range(rows, eager=True).cast(pl.String).str.len_bytes().sum()


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def abort() -> None:
    os.abort()


def fail(message: str) -> None:
    raise ValueError(message)


def echo(value):
    return value
