"""Whole ``python -m etl load`` processes on 1M sign-ins, per time spelling, vs bare DuckDB.

Offices write 签到时间 the way their spreadsheet shows it, so the same 1M sign-ins
(``bench.load_bench.prepare``: one generated town replicated to 1M rows) are written once
per spelling of that column — :data:`SPELLINGS`, every timestamp form docs/loading.md
lists as tolerated, plus a file mixing them row by row — and each file is loaded by two
processes, timed from start to exit (interpreter start and imports included):

* ``bare`` — ``python -c`` that opens a new DuckDB file and runs
  ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` (DuckDB's sniffing reader, no
  validation: the ceiling);
* ``etl`` — ``python -m etl load --db <copy of the base> <file>``: the product's loader
  as an office would run it (reading in its own process under the isolation limits,
  docs/decisions/0018-the-command-line-reads-in-its-own-process.md; validation, the
  write, the rollups).

Per spelling: medians of ``--repeat`` runs (the two processes interleaved, so machine
noise hits both alike) of wall and CPU seconds, the ratio of throughputs etl/bare
(target ≥ 0.5, i.e. the load takes at most twice the bare read) and the peak RSS of the
load's process tree (sampled every 10 ms; target ≤ 1.5 GB). Every loaded file must
store the same instants as the canonical one (checked after each load, untimed).
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import polars as pl
import psutil

ROOT = Path(__file__).resolve().parent.parent
COLUMN = "签到时间"
EXCEL_EPOCH = datetime(1899, 12, 30)
TARGET_RATIO = 0.5
TARGET_RSS_MB = 1536
POLL_SECONDS = 0.01

_T = pl.col("t")
_NOT_PADDED = pl.format(
    "{}/{}/{} {}:{}",
    _T.dt.year(),
    _T.dt.month(),
    _T.dt.day(),
    _T.dt.hour(),
    _T.dt.strftime("%M"),
)
_CHINESE_DATE = pl.format("{}年{}月{}日", _T.dt.year(), _T.dt.month(), _T.dt.day())
# Excel writes a time cell shown as a number as its serial: days since 1899-12-30.
_SERIAL = ((_T - pl.lit(EXCEL_EPOCH)).dt.total_seconds() / 86400).cast(pl.String)

SPELLINGS: dict[str, pl.Expr] = {
    "iso_seconds": _T.dt.strftime("%Y-%m-%d %H:%M:%S"),
    "iso_minutes": _T.dt.strftime("%Y-%m-%d %H:%M"),
    "iso_t": _T.dt.strftime("%Y-%m-%dT%H:%M:%S"),
    "slashes_unpadded": _NOT_PADDED,
    "chinese_units": pl.format("{} {}时{}分", _CHINESE_DATE, _T.dt.hour(), _T.dt.strftime("%M")),
    "chinese_colon": pl.format("{} {}:{}", _CHINESE_DATE, _T.dt.hour(), _T.dt.strftime("%M")),
    "excel_serial": _SERIAL,
}
MIXED = "mixed"

BARE_SCRIPT = (
    "import sys, duckdb\n"
    "con = duckdb.connect(sys.argv[2])\n"
    "con.execute('CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[1]]).fetchall()\n"
    "con.close()\n"
)


def write_spellings(canonical: Path, work: Path) -> dict[str, Path]:
    """The canonical sign-in file rewritten once per spelling (and once mixed)."""
    frame = pl.read_csv(canonical, infer_schema=False)
    # Whole minutes: the minute-only spellings must name the same instant as the others.
    t = pl.col(COLUMN).str.to_datetime("%Y-%m-%d %H:%M:%S").dt.truncate("1m").alias("t")
    frame = frame.with_columns(t)
    files = {}
    for name, spelled in SPELLINGS.items():
        files[name] = work / f"attendance_{name}.csv"
        frame.with_columns(spelled.alias(COLUMN)).drop("t").write_csv(files[name])
    which = pl.int_range(pl.len()) % len(SPELLINGS)
    first, *rest = SPELLINGS.values()
    mixed = pl.when(which == 0).then(first)
    for i, spelled in enumerate(rest, start=1):
        mixed = mixed.when(which == i).then(spelled)
    files[MIXED] = work / f"attendance_{MIXED}.csv"
    frame.with_columns(mixed.alias(COLUMN)).drop("t").write_csv(files[MIXED])
    return files


def run_process(command: list[str]) -> dict:
    """Run ``command`` to its end: wall seconds, CPU seconds (user + system; steadier than
    wall time on a shared machine) and the peak summed RSS of its process tree.

    The process's own CPU is exact (its rusage); its descendants' (the reading server and
    the child it forks per file, which the process never waits for) is their last
    sample, taken every 10 ms."""
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0]
    descendants_cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(process.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):  # ended meanwhile
                        total += p.memory_info().rss
                        if p.pid != root.pid:
                            times = p.cpu_times()
                            descendants_cpu[p.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                return
            peak[0] = max(peak[0], total)
            stop.wait(POLL_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited {process.returncode}:\n{out[-2000:]}{err[-2000:]}")
    cpu = _children_cpu_s() - cpu_before + sum(descendants_cpu.values())
    return {"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": peak[0] / 2**20}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stored_instants(db: Path) -> tuple[int, int, int]:
    """(rows, rows with a time, sum of epoch seconds) of the sign-ins in ``db``."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(
            con.execute(
                "SELECT count(*), count(signed_at), sum(epoch(signed_at))::BIGINT FROM attendance"
            ).fetchall()[0]
        )
    finally:
        con.close()


def measure(prepared: dict, work: Path, repeat: int) -> dict:
    """Time bare and etl processes per spelling; check every spelling stores the same."""
    files = write_spellings(Path(prepared["files"]["attendance"]), work)
    base = Path(prepared["bases"]["attendance"])
    samples = {name: {"bare": [], "etl": []} for name in files}
    stored: dict[str, tuple] = {}
    load_before = psutil.getloadavg()[0]
    for i in range(repeat):
        for name, csv in files.items():
            bare_db, etl_db = work / f"bare-{name}-{i}.duckdb", work / f"etl-{name}-{i}.duckdb"
            command = [sys.executable, "-c", BARE_SCRIPT, str(csv), str(bare_db)]
            samples[name]["bare"].append(run_process(command))
            shutil.copyfile(base, etl_db)
            command = [sys.executable, "-m", "etl", "load", "--db", str(etl_db), "--user"]
            samples[name]["etl"].append(run_process([*command, "bench", str(csv)]))
            stored[name] = stored_instants(etl_db)
            for db in (bare_db, etl_db):
                db.unlink(missing_ok=True)
                db.with_name(db.name + ".wal").unlink(missing_ok=True)
    reference = stored["iso_seconds"]
    results = {}
    for name, runs in samples.items():
        bare = statistics.median(r["seconds"] for r in runs["bare"])
        etl = statistics.median(r["seconds"] for r in runs["etl"])
        peak = max(r["peak_rss_mb"] for r in runs["etl"])
        results[name] = {
            "bare_median_s": round(bare, 3),
            "etl_median_s": round(etl, 3),
            "bare_cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs["bare"]), 2),
            "etl_cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs["etl"]), 2),
            "bare_samples_s": [round(r["seconds"], 3) for r in runs["bare"]],
            "etl_samples_s": [round(r["seconds"], 3) for r in runs["etl"]],
            "ratio": round(bare / etl, 2),
            "etl_peak_rss_mb": round(peak),
            "same_as_iso_seconds": stored[name] == reference,
            "met": bare / etl >= TARGET_RATIO and peak <= TARGET_RSS_MB,
        }
    return {
        "spellings": results,
        "stored_rows": reference[0],
        "load_avg_1min": [round(load_before, 2), round(psutil.getloadavg()[0], 2)],
        "targets": [
            entry
            for name, r in results.items()
            for entry in (
                {
                    "target": f"{name}: etl load ≥ {TARGET_RATIO}× bare DuckDB (throughput)",
                    "value": r["ratio"],
                    "met": r["ratio"] >= TARGET_RATIO,
                },
                {
                    "target": f"{name}: peak RSS ≤ {TARGET_RSS_MB} MB",
                    "value": r["etl_peak_rss_mb"],
                    "met": r["etl_peak_rss_mb"] <= TARGET_RSS_MB,
                },
            )
        ],
    }


def summary(figures: dict) -> str:
    """The per-spelling figures as a small text table."""
    lines = [
        f"{'1M sign-ins, 签到时间 as':<22}{'bare s':>8}{'etl s':>8}{'ratio':>7}{'cpu s':>12}"
        f"{'peak MB':>9}{'same':>6}  target (ratio ≥ {TARGET_RATIO}, peak ≤ {TARGET_RSS_MB} MB)"
    ]
    for name, r in figures["spellings"].items():
        cpu = f"{r['bare_cpu_median_s']:.2f}/{r['etl_cpu_median_s']:.2f}"
        lines.append(
            f"{name:<22}{r['bare_median_s']:>8.2f}{r['etl_median_s']:>8.2f}{r['ratio']:>7.2f}"
            f"{cpu:>12}{r['etl_peak_rss_mb']:>9}{'yes' if r['same_as_iso_seconds'] else 'NO':>6}  "
            f"{'met' if r['met'] else 'NOT MET'}"
        )
    before, after = figures["load_avg_1min"]
    lines.append(f"load average {before} → {after} on {psutil.cpu_count()} cores")
    return "\n".join(lines)
