"""The 督办 settings: ``data/config/supervise.toml`` (or ``$GRID_SUPERVISE``).

Every key is documented in docs/configuration.md; a missing, misspelt or out-of-range
key stops with a Chinese message naming the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from store.paths import CONFIG_DIR
from store.toml_config import read_config_file
from supervise.tables import SOURCES

SUPERVISE_FILE = CONFIG_DIR / "supervise.toml"


@dataclass(frozen=True)
class SuperviseConfig:
    deadline_days: dict[str, int]  # source → days from opening to the deadline
    max_extension_days: int


def load_config(path: str | Path | None = None) -> SuperviseConfig:
    """Read and check the 督办 settings."""
    top = read_config_file(path or os.environ.get("GRID_SUPERVISE") or SUPERVISE_FILE)
    days = top.table("deadline_days")
    deadline_days = {source: days.integer(source, 1) for source in SOURCES}
    days.done()
    extension = top.table("extension")
    max_days = extension.integer("max_days", 1)
    extension.done()
    top.done()
    return SuperviseConfig(deadline_days, max_days)
