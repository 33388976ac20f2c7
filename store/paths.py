"""Where things live on disk, and how files are created.

The database path is ``--db`` if given, else the ``GRID_DB`` environment variable,
else ``data/grid.duckdb`` in the repository (docs/data.md).
"""

from __future__ import annotations

import os
from pathlib import Path

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
