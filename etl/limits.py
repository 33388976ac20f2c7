"""The limits on what one file may make the readers allocate, and on the reading process.

They live in ``data/config/limits.toml`` (or the file ``$GRID_LIMITS`` names): one
``[limits]`` table, one ``[isolation]`` table, every key documented there and in
docs/security.md. :func:`default_limits` reads the file once per process; tests and
benchmarks may pass their own :class:`Limits`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

from store.paths import CONFIG_DIR
from store.toml_config import ConfigTable, read_config_file

LIMITS_FILE = CONFIG_DIR / "limits.toml"


@dataclass(frozen=True)
class ReadLimits:
    """What one file may hold (see limits.toml for the meaning of each)."""

    file_mb: float = 256
    rows: int = 1_100_000
    columns: int = 256
    cells: int = 20_000_000
    line_kb: int = 1024
    field_kb: int = 100
    sheets: int = 50
    unzipped_mb: int = 512
    geojson_mb: float = 20
    geojson_features: int = 2_000
    geojson_vertices: int = 50_000

    @property
    def file_bytes(self) -> int:
        return int(self.file_mb * 2**20)

    @property
    def line_bytes(self) -> int:
        return self.line_kb * 1024

    @property
    def field_bytes(self) -> int:
        return self.field_kb * 1024

    @property
    def unzipped_bytes(self) -> int:
        return self.unzipped_mb * 2**20

    @property
    def geojson_bytes(self) -> int:
        return int(self.geojson_mb * 2**20)


@dataclass(frozen=True)
class IsolationLimits:
    """How files are read in a child process (see :mod:`etl.isolation`)."""

    enabled: bool = True
    memory_mb: int = 2048
    timeout_seconds: float = 120
    workers: int = 2


@dataclass(frozen=True)
class Limits:
    """Every limit: what a file may hold, and how the reading process is bounded."""

    read: ReadLimits = ReadLimits()
    isolation: IsolationLimits = IsolationLimits()


def _read_limits(t: ConfigTable) -> ReadLimits:
    limits = ReadLimits(
        file_mb=t.number("file_mb", positive=True),
        rows=t.integer("rows", 1),
        columns=t.integer("columns", 1),
        cells=t.integer("cells", 1),
        line_kb=t.integer("line_kb", 1),
        field_kb=t.integer("field_kb", 1),
        sheets=t.integer("sheets", 1),
        unzipped_mb=t.integer("unzipped_mb", 1),
        geojson_mb=t.number("geojson_mb", positive=True),
        geojson_features=t.integer("geojson_features", 1),
        geojson_vertices=t.integer("geojson_vertices", 4),
    )
    t.done()
    return limits


def _isolation(t: ConfigTable) -> IsolationLimits:
    isolation = IsolationLimits(
        enabled=t.boolean("enabled"),
        memory_mb=t.integer("memory_mb", 256),
        timeout_seconds=t.number("timeout_seconds", positive=True),
        workers=t.integer("workers", 1),
    )
    t.done()
    return isolation


def load_limits(path: str | Path = LIMITS_FILE) -> Limits:
    """Read and check a limits file (errors name the file and the key)."""
    top = read_config_file(path)
    limits = Limits(_read_limits(top.table("limits")), _isolation(top.table("isolation")))
    top.done()
    return limits


@functools.cache
def default_limits() -> Limits:
    """The limits of ``$GRID_LIMITS`` or ``data/config/limits.toml`` (read once per process)."""
    return load_limits(os.environ.get("GRID_LIMITS") or LIMITS_FILE)


def in_process(limits: Limits | None = None) -> Limits:
    """``limits`` (default: the configured ones) with reading in this process.

    Only for files this program wrote itself (the generated sample at ``init``): the
    reading limits still apply, the child process is skipped.
    """
    limits = limits or default_limits()
    return replace(limits, isolation=replace(limits.isolation, enabled=False))
