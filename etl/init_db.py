"""Build a database from the registry and (optionally) generated sample months.

The database is built under a temporary name next to the target and renamed into
place only when complete, so an interrupted ``init`` never leaves a half-built file
where the dashboard would open it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from etl.contracts import PERSON, REGISTRY_KINDS
from etl.db import REGISTRY_DIR, connect
from etl.generate import DEFAULT_MONTHS, DEFAULT_SEED, generate
from etl.loader import load_files
from etl.rollups import refresh
from etl.schema import create_schema

Progress = Callable[[int, int, str], None]


class DatabaseExistsError(FileExistsError):
    """``init`` refuses to overwrite an existing database unless forced."""


@dataclass
class InitResult:
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
    end: tuple[int, int] | None = None,
    seed: int = DEFAULT_SEED,
    registry_dir: Path = REGISTRY_DIR,
    progress: Progress | None = None,
) -> InitResult:
    """Create the schema, load the registry and, unless ``sample`` is false, the sample.

    Raises :class:`DatabaseExistsError` if ``db_path`` exists and ``force`` is false.
    ``progress(step, total, label)`` is called as work advances.
    """
    db_path = Path(db_path)
    if db_path.exists() and not force:
        raise DatabaseExistsError(f"数据库已存在：{db_path}（如需重建请加 --force）")
    db_path.parent.mkdir(parents=True, exist_ok=True)
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
            for step, (label, files) in enumerate(batches, start=1):
                report(step, len(batches), f"载入 {label}")
                load_files(con, files, user="init")
        refresh(con)
        for table in (
            "village",
            "subgrid",
            "service_point",
            "person",
            "activity",
            "attendance",
            "report",
            "evaluation",
            "deduction",
        ):
            result.rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if force:
        _remove(db_path)
    os.replace(building, db_path)
    return result
