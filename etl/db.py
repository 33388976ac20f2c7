"""Where the database lives and how to open it.

The path is ``--db`` if given, else the ``GRID_DB`` environment variable, else
``data/grid.duckdb`` in the repository (DESIGN §7.3).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = REPO_ROOT / "data" / "grid.duckdb"
REGISTRY_DIR = REPO_ROOT / "data" / "registry"
CONFIG_DIR = REPO_ROOT / "data" / "config"


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database path: explicit argument, then $GRID_DB, then the default."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("GRID_DB")
    if env:
        return Path(env)
    return DEFAULT_DB_PATH


def private_files() -> None:
    """Make every file this process creates from now on readable by its owner only.

    The database holds personal names and the users file password hashes; the entry
    points (dashboard, CLIs) call this first, so the database, its WAL, the users
    file and anything written to disk are created 0600 whatever the shell's umask.
    """
    os.umask(0o077)


def connect(path: str | os.PathLike[str], read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file with the project's one connection configuration.

    Every connection in a process must use the same configuration (DuckDB refuses a
    second one with different settings), so all code opens the file through here.
    A database file this call creates is made private (0600) at once.
    """
    created = not read_only and not os.path.exists(path)
    con = duckdb.connect(str(path), read_only=read_only)
    if created and os.path.exists(path):
        os.chmod(path, 0o600)
    return con
