"""Deterministic, realistic sample monthly logs (``python -m etl generate``; docs/data.md).

The same registry, seed and month range always give byte-identical files. What makes
the data realistic rather than uniform noise, and where it is made:

* **Villages differ** (:mod:`etl.generate.town`): each village has a fixed diligence
  that drives how many required activities are held, how many members attend, how
  many issues are reported and how fast they are handled.
* **Seasons** (:mod:`etl.generate.seasons`): the Spring Festival and the summer heat
  thin out activities and attendance; the end of each half-year sees a small push.
* **People differ** (:mod:`etl.generate.attendance`): habitual absentees, elderly
  members reached at home, younger ones online, rolls bounded by the roster's dates.
* **Issues have a life** (:mod:`etl.generate.reports`): log-normal handling delays,
  overdue, refused and open reports, filed again in the month of their next step.
* **Paperwork is imperfect** (:mod:`etl.generate.activities`): late activities, lost
  sign-in sheets, missing sign-in rows.
* **Half-year evaluations and occasional deductions** (:mod:`etl.generate.evaluations`).

``--towns K`` replicates the town K times with distinct ids (:mod:`etl.generate.replicas`)
for city-scale benchmarks. The files are written in the canonical format
(:mod:`etl.canonical_csv`): UTF-8 CSV, canonical Chinese headers, dates ``YYYY-MM-DD``,
timestamps ``YYYY-MM-DD HH:MM:SS``, 是/否 for flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from etl.canonical_csv import write_canonical_csv
from etl.generate.activities import activities
from etl.generate.evaluations import deductions, evaluations
from etl.generate.lists import add_list_records
from etl.generate.replicas import replicate, write_boundaries
from etl.generate.reports import report_snapshot, reports
from etl.generate.seasons import last_complete_month
from etl.generate.town import Town, read_registry
from store.contracts import (
    ACTIVITY,
    ATTENDANCE,
    DEDUCTION,
    EVALUATION,
    LIST_KINDS,
    PERSON,
    REPORT,
    SERVICE_POINT,
    SUBGRID,
    VILLAGE,
)
from store.months import month_key, month_span
from store.paths import REGISTRY_DIR

DEFAULT_SEED = 20261
DEFAULT_MONTHS = 24

# The monthly files in the order they are written (and loaded: activities before
# the sign-ins that refer to them).
MONTHLY_FILES = {
    "person": PERSON,  # a roster update, in the month it happens
    "activity": ACTIVITY,
    "attendance": ATTENDANCE,
    "report": REPORT,
    "evaluation": EVALUATION,
    "deduction": DEDUCTION,
    **{kind.name: kind for kind in LIST_KINDS},  # the four lists' records (etl.generate.lists)
}


@dataclass
class GenerateResult:
    """What was written: one entry per file, with its row count."""

    out_dir: Path
    months: list[str]
    files: list[Path] = field(default_factory=list)
    rows: dict[Path, int] = field(default_factory=dict)
    registry_files: list[Path] = field(default_factory=list)

    def month_files(self) -> list[Path]:
        """Monthly files in load order (month by month, activities before attendance)."""
        return list(self.files)


def generate(
    out_dir: Path,
    months: int = DEFAULT_MONTHS,
    end: date | tuple[int, int] | None = None,
    seed: int = DEFAULT_SEED,
    towns: int = 1,
    registry_dir: Path = REGISTRY_DIR,
) -> GenerateResult:
    """Write ``months`` monthly files per kind (ending with ``end``'s month) plus the registry.

    ``end`` defaults to the last complete month. Layout:
    ``out_dir/registry/{village,subgrid,service_point,person}.csv`` and
    ``boundaries.geojson``; ``out_dir/YYYY-MM/{activity,attendance,report,deduction}.csv``
    and, in June and December, ``evaluation.csv``.
    """
    if months < 1:
        raise ValueError("months must be ≥ 1")
    if towns < 1:
        raise ValueError("towns must be ≥ 1")
    month_list = month_span(last_complete_month() if end is None else _month(end), months)
    rng = np.random.default_rng(seed)
    registry = read_registry(registry_dir)
    town = Town(registry, rng)

    per_month = _monthly_frames(town, month_list, rng)
    per_month = add_list_records(town, month_list, per_month, seed)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(out_dir, [month_key(m) for m in month_list])

    reg_dir = out_dir / "registry"
    reg_dir.mkdir(exist_ok=True)
    for kind in (VILLAGE, SUBGRID, SERVICE_POINT, PERSON):
        frame = replicate(registry[kind.name], kind, towns)
        path = reg_dir / f"{kind.name}.csv"
        write_canonical_csv(frame, kind, path, english=True)
        result.registry_files.append(path)
        result.rows[path] = frame.height
    write_boundaries(registry_dir / "boundaries.geojson", reg_dir / "boundaries.geojson", towns)

    for label, frames in zip(result.months, per_month, strict=True):
        month_dir = out_dir / label
        month_dir.mkdir(exist_ok=True)
        for name, kind in MONTHLY_FILES.items():
            frame = frames.get(name)
            if frame is None:
                continue
            frame = replicate(frame, kind, towns)
            path = month_dir / f"{name}.csv"
            write_canonical_csv(frame, kind, path)
            result.files.append(path)
            result.rows[path] = frame.height
    return result


def _month(end: date | tuple[int, int]) -> date:
    """``end`` as a month; a (year, month) pair is still accepted from callers written
    before :mod:`store.months` (the tests' fixtures pass one)."""
    return date(end[0], end[1], 1) if isinstance(end, tuple) else end


def _monthly_frames(
    town: Town, month_list: list[date], rng: np.random.Generator
) -> list[dict[str, pl.DataFrame]]:
    """All monthly frames for one town, as the office would receive them."""
    activity, attendance = activities(town, month_list, rng)
    report_lives = reports(town, month_list, rng)
    surveys = evaluations(town, month_list, rng)
    deducted = deductions(town, month_list, rng)

    out = []
    for i, month in enumerate(month_list):
        frames = {}
        frames["activity"] = (
            activity.filter(pl.col("file_month") == i)
            .drop("file_month")
            .sort("activity_date", "activity_id")
        )
        frames["attendance"] = (
            attendance.filter(pl.col("file_month") == i)
            .drop("file_month")
            .sort("activity_id", "person_id")
        )
        frames["report"] = report_snapshot(report_lives, month, i, len(month_list))
        survey = surveys.get(i)
        if survey is not None:
            frames["evaluation"] = survey
        frames["deduction"] = deducted.filter(pl.col("file_month") == i).drop("file_month")
        out.append(frames)
    return out
