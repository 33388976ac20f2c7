"""Expensive test inputs built once per test run, shared by every pytest-xdist worker.

A generated sample or a sample database takes seconds to build; with two workers each
would build its own. :func:`built_once` builds into the run's shared temporary folder
under an exclusive file lock, so the first worker builds and the others wait for it
and reuse the result. Whatever it returns is shared: read it, or copy it
(:func:`private_copy`) before writing — two processes may not open one DuckDB file
for writing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def shared_root(tmp_path_factory) -> Path:
    """The run's temporary folder common to all workers (each worker has a subfolder)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``root/shared-<name>``, built by ``build(path)`` by the first worker to ask."""
    root = shared_root(tmp_path_factory)
    target = root / f"shared-{name}"
    done = root / f"shared-{name}.done"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            build(target)
            done.touch()
    return target


def private_copy(database: Path, target: Path) -> Path:
    """A copy of a DuckDB file (and its WAL) for one worker to open as it likes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, target)
    wal = database.with_name(database.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target
