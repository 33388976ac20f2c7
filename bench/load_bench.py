"""Validated load of 1M-row attendance and report CSVs vs bare DuckDB and pandas.

For each file (1,000,000 attendance rows; 1,000,000 report rows, canonical UTF-8 CSV
as ``python -m etl generate`` writes them) three ways of getting it into DuckDB are
timed on the same file in the same run, each in its own subprocess (so that peak RSS
is per method), median of ``--repeat`` runs (default 3), the methods interleaved so
that machine noise hits all alike:

* ``bare`` — ``CREATE TABLE t AS SELECT * FROM read_csv('file')`` into a new database
  file: DuckDB's own sniffing reader, no validation (the speed ceiling);
* ``validated`` — :func:`etl.load.load_uploads` into a copy of a database that holds
  the registry (and, for attendance, the activities the sign-ins refer to): read,
  detect the kind, normalise, validate every rule, write in one transaction with
  the undo bookkeeping, record the upload, refresh the rollups;
* ``in_process`` — the same validated load with the file read in this process rather
  than in the isolated reading child (:mod:`etl.isolation`): the difference is what
  isolation costs (the reading server is started before the timed part, as the
  dashboard keeps one running; its start is reported apart);
* ``pandas`` — ``pandas.read_csv`` then ``INSERT INTO <table> SELECT * FROM df`` into
  the same kind of database copy.

Data: one town × 24 generated months, replicated with the generator's town prefixes
(``T001-`` …) until 1M rows; the registry is replicated to match so that every id
resolves. Printed: rows/s, median seconds, process CPU seconds (user + system, all
threads: steadier than wall time on a shared machine), peak RSS (MB) per method, the
validated load split into the rollup refresh (``etl/rollups.py``) and the rest (the
loader), and the ratios validated/bare (target ≥ 0.5) and validated/pandas (target > 1).
Then :mod:`bench.load_spellings`: whole ``python -m etl load`` processes on the sign-ins
with 签到时间 in every tolerated spelling, against a bare DuckDB process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from bench import load_spellings

ROWS = 1_000_000
END = date(2026, 10, 1)
METHODS = ("bare", "validated", "in_process", "pandas")


def _replicate_text(frame: pl.DataFrame, id_headers: list[str], towns: int) -> pl.DataFrame:
    """Copies of a text frame with town prefixes on the id columns (as generate does)."""
    from etl.generate.replicas import town_prefix

    parts = [frame]
    for k in range(1, towns):
        prefix = town_prefix(k)
        parts.append(
            frame.with_columns(
                [(pl.lit(prefix) + pl.col(h)).alias(h) for h in id_headers if h in frame.columns]
            )
        )
    return pl.concat(parts)


def _id_headers(kind_name: str, english: bool) -> list[str]:
    from etl.generate.replicas import ID_COLUMNS
    from store.contracts import KINDS

    kind = KINDS[kind_name]
    return [c if english else kind.column(c).header for c in ID_COLUMNS[kind_name]]


def _read_text(paths: list[Path]) -> pl.DataFrame:
    return pl.concat([pl.read_csv(p, infer_schema=False) for p in paths])


def prepare(work: Path, kinds: tuple[str, ...] = ("attendance", "report")) -> dict:
    """Write the 1M-row CSV of each of ``kinds`` and a base database for each; returns
    their paths and sizes."""
    from etl.generate import generate
    from etl.load import load_uploads
    from etl.schema import create_schema
    from store.database import connect

    gen = work / "gen"
    generate(gen, months=24, end=END)
    months = sorted(p for p in gen.iterdir() if p.name[:2] == "20")
    activity = _read_text([m / "activity.csv" for m in months])
    texts = {"attendance": _read_text([m / "attendance.csv" for m in months])}
    if "report" in kinds:
        # A report id recurs in later months until closed; keep its latest state once.
        texts["report"] = _read_text([m / "report.csv" for m in months]).unique(
            "事项编号", keep="last"
        )
    towns = {kind: math.ceil(ROWS / texts[kind].height) for kind in kinds}
    files = {kind: work / f"{kind}_1m.csv" for kind in kinds}
    for kind in kinds:
        _replicate_text(texts[kind], _id_headers(kind, False), towns[kind]).head(ROWS).write_csv(
            files[kind]
        )

    # One base per kind: the registry and the activities, replicated as far as the file
    # needs (the rollups' cost grows with the roster).
    bases = {}
    for kind in kinds:
        n = towns[kind]
        bases[kind] = work / f"base_{kind}.duckdb"
        con = connect(bases[kind])
        try:
            con.execute("SET enable_progress_bar = false").fetchall()
            create_schema(con)
            registry = []
            for name in ("village", "subgrid", "service_point", "person"):
                text = pl.read_csv(gen / "registry" / f"{name}.csv", infer_schema=False)
                data = _replicate_text(text, _id_headers(name, True), n).write_csv().encode()
                registry.append((f"{name}.csv", data))
            load_uploads(con, registry, "bench")
            # The activities the file refers to: every one for sign-ins, the meetings a
            # report names (例会编号) for reports (all of them would exceed a file's limit).
            referred = activity
            if kind == "report":
                meetings = texts["report"]["例会编号"].drop_nulls().unique().implode()
                referred = activity.filter(pl.col("活动编号").is_in(meetings))
            activities = _replicate_text(referred, _id_headers("activity", False), n)
            load_uploads(con, [("activity.csv", activities.write_csv().encode())], "bench")
            con.execute("CHECKPOINT").fetchall()
        finally:
            con.close()
    return {
        "files": {k: str(v) for k, v in files.items()},
        "bases": {k: str(v) for k, v in bases.items()},
        "towns": towns,
        "mb": {k: round(v.stat().st_size / 2**20, 1) for k, v in files.items()},
    }


def worker(method: str, kind: str, csv_path: Path, db_path: Path) -> dict:
    """One timed load in this (fresh) process; returns seconds and peak RSS."""
    import duckdb

    from store.database import connect

    cpu_started = _cpu_s()  # only the timed part below differs between methods
    if method == "bare":
        con = connect(db_path)
        started = time.perf_counter()
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(csv_path)]).fetchall()
        rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    elif method in ("validated", "in_process"):
        from etl.isolation import start_reading_server
        from etl.limits import default_limits, in_process
        from etl.load import load_uploads

        marks: dict[str, float] = {}

        def progress(step: int, total: int, label: str) -> None:
            marks.setdefault(label, time.perf_counter())

        limits = default_limits() if method == "validated" else in_process()
        server_started = time.perf_counter()
        if method == "validated":
            start_reading_server()
        server_start_s = time.perf_counter() - server_started
        con = connect(db_path)
        started = time.perf_counter()
        result = load_uploads(
            con,
            [(csv_path.name, csv_path.read_bytes())],
            "bench",
            progress=progress,
            limits=limits,
        )
        rows = sum(r.rows_inserted + r.rows_updated for r in result.records)
        # The rollup refresh (etl.rollups, called inside the transaction) is timed apart.
        rollups_s = marks["提交"] - marks["更新汇总"]
    elif method == "pandas":
        import pandas as pd  # imports are outside the timed part, as for the other methods

        con = connect(db_path)
        started = time.perf_counter()
        df = pd.read_csv(csv_path)
        con.register("df", df)
        # Into the typed table (DuckDB casts the text timestamps), like the loader.
        con.execute(f"INSERT INTO {kind} SELECT * FROM df").fetchall()
        rows = len(df)
    else:  # pragma: no cover
        raise ValueError(method)
    seconds = time.perf_counter() - started
    cpu = _cpu_s() - cpu_started
    con.close()
    del duckdb
    out = {"seconds": seconds, "cpu_s": cpu, "rows": rows, "peak_rss_mb": _peak_rss_mb()}
    if method in ("validated", "in_process"):
        out["rollups_s"] = rollups_s
        out["server_start_s"] = server_start_s
    return out


def _cpu_s() -> float:
    """CPU seconds this process has used (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it starts afresh at
    exec, so the benchmark parent's own memory does not leak into the figure)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def _run_worker(method: str, kind: str, csv_path: str, db_path: Path) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load_bench",
            "--worker",
            method,
            kind,
            csv_path,
            str(db_path),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if out.returncode != 0:  # say why (a rejected load prints its report on stderr)
        raise RuntimeError(f"{method} {kind} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args) -> dict:
    repeat = getattr(args, "repeat", 0) or 3
    figures: dict = {"rows": ROWS, "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        prepared = prepare(work)
        figures["prepare_s"] = round(time.perf_counter() - started, 1)
        figures["file_mb"] = prepared["mb"]
        for kind in ("attendance", "report"):
            load_before = os.getloadavg()[0]  # the machine is shared: show how busy it was
            samples: dict[str, list[dict]] = {m: [] for m in METHODS}
            for i in range(repeat):
                for method in METHODS:  # interleaved, so machine noise hits all alike
                    db = work / f"run-{kind}-{method}-{i}.duckdb"
                    if method != "bare":
                        shutil.copyfile(prepared["bases"][kind], db)
                    samples[method].append(_run_worker(method, kind, prepared["files"][kind], db))
                    db.unlink(missing_ok=True)
                    db.with_name(db.name + ".wal").unlink(missing_ok=True)
            result = {}
            for method, runs in samples.items():
                median = statistics.median(r["seconds"] for r in runs)
                result[method] = {
                    "median_s": round(median, 3),
                    "rows_per_s": round(ROWS / median),
                    "samples_s": [round(r["seconds"], 3) for r in runs],
                    "cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
                    "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs)),
                    "rows_loaded": runs[0]["rows"],
                }
            loader = statistics.median(r["seconds"] - r["rollups_s"] for r in samples["validated"])
            result["validated"]["rollups_median_s"] = round(
                statistics.median(r["rollups_s"] for r in samples["validated"]), 3
            )
            result["validated"]["server_start_median_s"] = round(
                statistics.median(r["server_start_s"] for r in samples["validated"]), 3
            )
            result["validated_excl_rollups"] = {
                "median_s": round(loader, 3),
                "rows_per_s": round(ROWS / loader),
            }
            bare = result["bare"]["rows_per_s"]
            result["ratios"] = {
                "validated_vs_bare": round(result["validated"]["rows_per_s"] / bare, 2),
                "validated_excl_rollups_vs_bare": round(ROWS / loader / bare, 2),
                "validated_vs_pandas": round(
                    result["validated"]["rows_per_s"] / result["pandas"]["rows_per_s"], 2
                ),
                "isolation_cost": round(
                    result["validated"]["median_s"] / result["in_process"]["median_s"] - 1, 3
                ),
            }
            result["load_avg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            figures[kind] = result
        print(summary(figures), flush=True)
        # The whole `python -m etl load` process per time spelling (bench.load_spellings).
        figures["spellings"] = load_spellings.measure(prepared, work, repeat)
        print(load_spellings.summary(figures["spellings"]), flush=True)
    figures["targets"] = [
        *(
            entry
            for kind in ("attendance", "report")
            for entry in (
                {
                    "target": f"{kind}: validated load ≥ 0.5× bare DuckDB",
                    "value": figures[kind]["ratios"]["validated_vs_bare"],
                    "met": figures[kind]["ratios"]["validated_vs_bare"] >= 0.5,
                },
                {
                    "target": f"{kind}: validated load faster than pandas",
                    "value": figures[kind]["ratios"]["validated_vs_pandas"],
                    "met": figures[kind]["ratios"]["validated_vs_pandas"] > 1,
                },
                {
                    "target": f"{kind}: peak RSS ≤ 1536 MB",
                    "value": figures[kind]["validated"]["peak_rss_mb"],
                    "met": figures[kind]["validated"]["peak_rss_mb"] <= 1536,
                },
            )
        ),
        *figures["spellings"]["targets"],
    ]
    return figures


def summary(figures: dict) -> str:
    """The figures as a small text table (the JSON follows it)."""
    lines = [
        f"{'1M rows':<11}{'method':<22}{'median s':>9}{'rows/s':>11}{'cpu s':>8}{'peak MB':>9}"
    ]
    for kind in ("attendance", "report"):
        result = figures[kind]
        for method in METHODS:
            r = result[method]
            lines.append(
                f"{kind:<11}{method:<22}{r['median_s']:>9.3f}{r['rows_per_s']:>11,}"
                f"{r['cpu_median_s']:>8.2f}{r['peak_rss_mb']:>9}"
            )
        loader = result["validated_excl_rollups"]
        lines.append(
            f"{'':<11}{'  of which rollups':<22}{result['validated']['rollups_median_s']:>9.3f}"
        )
        lines.append(
            f"{'':<11}{'  of which the rest':<22}{loader['median_s']:>9.3f}"
            f"{loader['rows_per_s']:>11,}"
        )
        ratios = result["ratios"]
        lines.append(
            f"{'':<11}validated/bare {ratios['validated_vs_bare']:.2f} (target ≥ 0.5; without "
            f"rollups {ratios['validated_excl_rollups_vs_bare']:.2f}), validated/pandas "
            f"{ratios['validated_vs_pandas']:.2f} (target > 1); load average "
            f"{result['load_avg_1min'][0]} → {result['load_avg_1min'][1]} on "
            f"{os.cpu_count()} cores"
        )
        lines.append(
            f"{'':<11}isolation (reading in a child process) costs "
            f"{ratios['isolation_cost']:+.1%} of the in-process load; the reading server's "
            f"start, once per process: {result['validated']['server_start_median_s']:.2f} s"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=4, metavar=("METHOD", "KIND", "CSV", "DB"))
    parser.add_argument("--repeat", type=int, default=0)
    ns = parser.parse_args()
    if ns.worker:
        method, kind, csv_file, db_file = ns.worker
        print(json.dumps(worker(method, kind, Path(csv_file), Path(db_file))))
    else:
        print(json.dumps(run(ns), indent=2))
