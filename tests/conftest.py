"""Shared fixtures: one generated sample and one initialised database per test run.

Both are built once however many pytest-xdist workers run (harness/shared_builds.py);
each worker gets its own copy of the database.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from etl.generate import generate
from etl.init_db import init_database
from harness.shared_builds import built_once, private_copy

SAMPLE_END = date(2026, 10, 1)
SAMPLE_MONTHS = 24


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """24 generated months ending 2026-10 (the default sample's shape). Read-only."""
    return built_once(
        tmp_path_factory,
        "sample",
        lambda out: generate(out, months=SAMPLE_MONTHS, end=SAMPLE_END),
    )


def _sample_database(folder: Path) -> None:
    folder.mkdir()
    init_database(folder / "grid.duckdb", months=SAMPLE_MONTHS, end=SAMPLE_END)


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A database built by ``init`` (registry + 24 sample months). Treat as read-only."""
    template = built_once(tmp_path_factory, "sample-db", _sample_database) / "grid.duckdb"
    return private_copy(template, tmp_path_factory.mktemp("db") / "grid.duckdb")


@pytest.fixture(scope="session")
def command_db(sample_db, tmp_path_factory) -> Path:
    """A copy of ``sample_db`` that no test opens in its own process, for commands run in
    a process of their own: DuckDB lets no other process open a file this one holds, and
    the page tests' in-process app keeps ``sample_db`` open read-write. Treat as read-only."""
    return private_copy(sample_db, tmp_path_factory.mktemp("command-db") / "grid.duckdb")
