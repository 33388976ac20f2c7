"""``etl init`` for one town and 24 months: median of 3 (target < 15 s)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from bench.common import median_of
from etl.init_db import init_database


def run(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        median, samples = median_of(
            lambda: init_database(db, force=True, end=date(2026, 10, 1)), repeat=args.repeat or 3
        )
        size_mb = db.stat().st_size / 2**20
    return {
        "init_median_s": round(median, 2),
        "init_samples_s": [round(s, 2) for s in samples],
        "db_size_mb": round(size_mb, 1),
        "target_s": 15,
    }
