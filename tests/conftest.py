"""Shared fixtures: one generated sample and one initialised database per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.generate import generate
from etl.init_db import init_database

SAMPLE_END = (2026, 10)
SAMPLE_MONTHS = 24


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """24 generated months ending 2026-10 (the default sample's shape)."""
    out = tmp_path_factory.mktemp("sample")
    generate(out, months=SAMPLE_MONTHS, end=SAMPLE_END)
    return out


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A database built by ``init`` (registry + 24 sample months). Treat as read-only."""
    path = tmp_path_factory.mktemp("db") / "grid.duckdb"
    init_database(path, months=SAMPLE_MONTHS, end=SAMPLE_END)
    return path
