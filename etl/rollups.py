"""Maintained rollup tables the metrics layer reads at city scale.

Rollups are derived data, refreshed inside every load's transaction (and after an
undo) so they are never stale. ``create_rollups`` makes the tables; ``refresh``
recomputes the rows of the months a load touched (``None`` = every month).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import duckdb


def create_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rollup tables (idempotent)."""


def refresh(con: duckdb.DuckDBPyConnection, months: Collection[date] | None = None) -> None:
    """Recompute rollups for ``months`` (first days of months); ``None`` means all."""
