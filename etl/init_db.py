"""Build a database from the registry and (optionally) generated sample months.

The database is built under a temporary name next to the target and renamed into
place only when complete, so an interrupted ``init`` never leaves a half-built file
where the dashboard would open it.

Every batch goes through the validating loader (:mod:`etl.load`): the registry as one
upload, then each sample month as one upload, so the sample is validated like any
office file and each month appears in the upload history (and can be undone). Two
differences from a normal load, both because init builds from scratch: the rollups are
refreshed once for every month at the end instead of per batch, and "today" for the
no-future-dates rule is at least the last day of the last sample month (``--end`` may
name the current month).

One builder at a time: a build holds an exclusive lock on the database's folder, so
``make run`` can build the database while the dashboard starts, and a dashboard
session that asks for the database meanwhile waits for that build and uses its result
instead of building (and clobbering) a second one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from etl.boundaries import load_shipped_boundaries
from etl.generate import DEFAULT_MONTHS, DEFAULT_SEED, generate
from etl.limits import in_process
from etl.load import load_paths
from etl.rollups import refresh
from etl.schema import create_schema
from etl.upsert import LOAD_ORDER
from store.clock import today_local
from store.contracts import PERSON, REGISTRY_KINDS
from store.database import connect, transaction
from store.months import add_months, parse_month
from store.paths import REGISTRY_DIR

Progress = Callable[[int, int, str], None]


class DatabaseExistsError(FileExistsError):
    """``init`` refuses to overwrite an existing database unless forced."""


@dataclass
class InitResult:
    """What ``init`` built: the database, the sample months (``YYYY-MM``), rows per table."""

    db_path: Path
    months: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()


def init_database(
    db_path: Path,
    sample: bool = True,
    force: bool = False,
    months: int = DEFAULT_MONTHS,
    end: date | tuple[int, int] | None = None,
    seed: int = DEFAULT_SEED,
    registry_dir: Path = REGISTRY_DIR,
    progress: Progress | None = None,
) -> InitResult:
    """Create the schema, load the registry and, unless ``sample`` is false, the sample.

    The sample is ``months`` months ending with ``end``'s month (default: the last
    complete month; see :func:`etl.generate.generate`). Raises
    :class:`DatabaseExistsError` if ``db_path`` exists and ``force`` is false.
    ``progress(step, total, label)`` is called as work advances.
    """
    db_path = Path(db_path)
    if db_path.exists() and not force:
        raise DatabaseExistsError(f"数据库已存在：{db_path}（如需重建请加 --force）")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _only_builder(db_path):
        if db_path.exists() and not force:  # built by another process while we waited
            return _counted(InitResult(db_path))
        return _build(db_path, sample, force, months, end, seed, registry_dir, progress)


@contextlib.contextmanager
def _only_builder(db_path: Path):
    """Hold the exclusive build lock of ``db_path``'s folder (waits for another builder).

    The folder itself is locked (``flock`` on its descriptor) so that no lock file is
    left beside the database."""
    folder = os.open(db_path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


def _counted(result: InitResult) -> InitResult:
    """``result`` with the rows of its (existing, complete) database counted."""
    con = connect(result.db_path)  # read-write: the one configuration of this process
    try:
        for table in LOAD_ORDER:
            result.rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        months = "SELECT DISTINCT strftime(activity_date, '%Y-%m') AS m FROM activity ORDER BY m"
        result.months = [row[0] for row in con.execute(months).fetchall()]
    finally:
        con.close()
    return result


def _build(
    db_path: Path,
    sample: bool,
    force: bool,
    months: int,
    end: date | tuple[int, int] | None,
    seed: int,
    registry_dir: Path,
    progress: Progress | None,
) -> InitResult:
    building = db_path.with_name(db_path.name + ".building")
    _remove(building)
    report = progress or (lambda step, total, label: None)

    result = InitResult(db_path)
    con = connect(building)
    try:
        create_schema(con)
        registry_files = [registry_dir / f"{k.name}.csv" for k in (*REGISTRY_KINDS, PERSON)]
        with tempfile.TemporaryDirectory(prefix="grid-sample-") as tmp:
            batches: list[tuple[str, list[Path]]] = [("registry", registry_files)]
            if sample:
                report(0, 1, "生成示例数据")
                generated = generate(
                    Path(tmp), months=months, end=end, seed=seed, registry_dir=registry_dir
                )
                result.months = generated.months
                by_month: dict[str, list[Path]] = {}
                for path in generated.month_files():
                    by_month.setdefault(path.parent.name, []).append(path)
                batches += list(by_month.items())
            today = today_local()
            if result.months:
                last_day = add_months(parse_month(result.months[-1]), 1) - timedelta(days=1)
                today = max(today, last_day)
            for step, (label, files) in enumerate(batches, start=1):
                report(step, len(batches), f"载入 {label}")
                load_paths(
                    con,
                    files,
                    user="init",
                    refresh_rollups=False,
                    today=today,
                    limits=in_process(),  # our own generated files
                    # A roster update of a few people may look like "another village's
                    # rows" to the scope check; the sample is ours, nothing to confirm.
                    accept_outside=True,
                )
        load_shipped_boundaries(con, user="init")
        with transaction(con):
            refresh(con)
        for table in LOAD_ORDER:
            result.rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if force:
        _remove(db_path)
    os.replace(building, db_path)
    return result
