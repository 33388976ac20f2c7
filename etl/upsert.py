"""Writing a validated upload: match incoming rows with stored ones, then upsert by key.

Used by :mod:`etl.load` inside its transaction (and, for the undo bookkeeping it
writes, read back by :mod:`etl.undo`). Per kind (table), in :data:`LOAD_ORDER`:

1. :func:`plan_writes` (before the transaction, read-only) finds the incoming rows whose
   natural key is already stored — a semi-join over the key columns only, usually
   empty (a new month) — and compares just those rows column by column: identical rows
   are left alone (a warning), the others replace the stored ones.
2. :func:`write_plans` (inside the transaction) saves the rows about to be replaced in
   ``upload_prior_<kind>``, deletes them, inserts the new rows from one Arrow view of
   the typed frame, and records the keys the batch wrote (one Parquet blob per kind,
   :mod:`etl.batch_keys`, serialised on a second thread while DuckDB finds the months
   the rows touch) and the reporting units the rows belong to (:mod:`etl.upload_units`).

Months touched (for the rollup refresh) come from :func:`etl.rollups.months_touched`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from etl.batch_keys import KeyBlobs, key_match, keys_blob
from etl.raw_table import ROW
from etl.rollups import months_touched
from etl.schema import prior_table
from etl.upload_units import record_units
from etl.validation.findings import empty_report
from etl.validation.index_feeds import feed_notes
from etl.validation.lifecycle_rules import REPORT_STEPS
from etl.validation.typed_table import PART, Part
from store.contracts import KINDS, Kind
from store.database import run_sql

LOAD_ORDER = (
    "village",
    "subgrid",
    "service_point",
    "person",
    "activity",
    "attendance",
    "report",
    "evaluation",
    "deduction",
    # The four lists' records: after the roster and the activities they refer to.
    "pairing",
    "decision",
    "study_notice",
    "duty_rating",
)

Counts = dict[int, tuple[int, int, int]]  # table (part) index → inserted, updated, unchanged


@dataclass
class KindPlan:
    """The rows of one kind an upload will write, and how they meet the stored rows."""

    kind: Kind
    frame: pl.DataFrame  # typed rows (+ _part, _row), reports deduplicated
    matched: pl.DataFrame  # _part, _row, same: rows whose key is already stored
    parts: list[int] = field(default_factory=list)  # indices of the tables of this kind


@dataclass
class Written:
    """What :func:`write_plans` wrote: the batch id, counts per table, months touched."""

    batch_id: int
    counts: Counts
    # Per kind written, the months its rows touch; None: the roster changed (every month).
    # Per kind so that the rollup refresh recomputes only the months of the kinds the
    # rollups are built from (a 1M-row report load recomputed all 24 months: 1.1 s).
    months: dict[str, set[date]] | None


# ------------------------------------------------------------------- plans


def plan_writes(
    con: duckdb.DuckDBPyConnection, parts: list[Part]
) -> tuple[list[KindPlan], list[pl.DataFrame]]:
    """Per kind: the rows to write and their match with stored rows; plus warnings."""
    plans, warnings = [], []
    labels = {p.index: p.label for p in parts}
    for name in LOAD_ORDER:
        group = [p for p in parts if p.kind.name == name]
        if not group:
            continue
        kind = KINDS[name]
        frame = pl.concat([p.typed for p in group]) if len(group) > 1 else group[0].typed
        if name == "report" and len(group) > 1:
            frame = _latest_reports(frame)
        matched, regressions = _compare_with_database(con, kind, frame)
        plans.append(KindPlan(kind, frame, matched, [p.index for p in group]))
        warnings.append(_identical_warnings(matched, labels))
        if regressions is not None:
            warnings.append(regressions.with_columns(pl.col("文件").replace_strict(labels)))
    warnings += feed_notes(con, parts)  # what evaluation and deduction rows feed
    return plans, warnings


def _latest_reports(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per report id: the one with the latest lifecycle step (ties: later file)."""
    latest = pl.max_horizontal(*REPORT_STEPS).alias("_latest")
    return (
        frame.with_columns(latest)
        .sort("report_id", "_latest", PART, ROW, nulls_last=False)
        .unique("report_id", keep="last", maintain_order=True)
        .drop("_latest")
    )


def _compare_with_database(
    con: duckdb.DuckDBPyConnection, kind: Kind, frame: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(_part, _row, same) of incoming rows whose key is stored; report regressions."""
    empty = pl.DataFrame(schema={PART: pl.Int64, ROW: pl.Int64, "same": pl.Boolean})
    if frame.is_empty() or not run_sql(con, f"SELECT EXISTS (FROM {kind.table})")[0][0]:
        return empty, None
    # Keys first: a semi-join over the key columns only finds the rows already stored
    # (usually none: a new month); only those rows are then compared column by column.
    ids = [PART, ROW]
    con.register("_incoming_keys", frame.select(*kind.key, *ids))
    try:
        stored = con.sql(
            f"SELECT i.{PART}, i.{ROW} FROM _incoming_keys i "
            f"SEMI JOIN {kind.table} t ON {key_match(kind, 't', 'i')}"
        ).pl()
    finally:
        con.unregister("_incoming_keys")
    if stored.is_empty():
        return empty, None
    frame = frame.join(stored, on=ids, how="semi")
    values = [c for c in kind.names if c not in kind.key]
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM i.{c}" for c in values) or "TRUE"
    extra = ""
    if kind.name == "report":
        extra = (
            ", t.status AS db_status, greatest("
            + ", ".join(f"t.{c}" for c in REPORT_STEPS)
            + ") AS db_latest, greatest("
            + ", ".join(f"i.{c}" for c in REPORT_STEPS)
            + ") AS new_latest, i.status AS new_status"
        )
    con.register("_incoming", frame)
    try:
        matched = con.sql(
            f"SELECT i.{PART}, i.{ROW}, ({same}) AS same{extra} "
            f"FROM _incoming i JOIN {kind.table} t ON {key_match(kind, 't', 'i')}"
        ).pl()
    finally:
        con.unregister("_incoming")
    regressions = None
    if kind.name == "report" and matched.height:
        back = matched.filter(~pl.col("same") & (pl.col("db_latest") > pl.col("new_latest")))
        if back.height:
            regressions = back.select(
                pl.col(PART).alias("文件"),
                pl.col(ROW).alias("行号"),
                pl.lit(kind.column("status").header).alias("列"),
                pl.col("new_status").alias("值"),
                pl.format(
                    "数据库中该事项已有更晚的进展（{}，{}），将按本次上传改回",
                    pl.col("db_status"),
                    pl.col("db_latest").dt.strftime("%Y-%m-%d %H:%M"),
                ).alias("原因"),
            )
    return matched.select(PART, ROW, "same"), regressions


def _identical_warnings(matched: pl.DataFrame, labels: dict[int, str]) -> pl.DataFrame:
    """One warning per table: how many rows equal the stored ones (they stay as they are)."""
    same = matched.filter(pl.col("same"))
    if same.is_empty():
        return empty_report()
    per_part = same.group_by(PART).agg(
        pl.len().alias("n"), pl.col(ROW).sort().head(5).alias("rows")
    )
    return per_part.sort(PART).select(
        pl.col(PART).replace_strict(labels, return_dtype=pl.String).alias("文件"),
        pl.col("rows").list.first().alias("行号"),
        pl.lit("").alias("列"),
        pl.format("{} 行", pl.col("n")).alias("值"),
        pl.format(
            "与数据库中已有的数据完全相同，保持不变、不重复计入（如第 {} 行）",
            pl.col("rows").cast(pl.List(pl.String)).list.join("、"),
        ).alias("原因"),
    )


# ------------------------------------------------------------------- write


def write_plans(
    con: duckdb.DuckDBPyConnection,
    plans: list[KindPlan],
    today: date,
    blobs: KeyBlobs | None = None,
) -> Written:
    """Inside the caller's open transaction: write every plan as one new batch."""
    batch_id = run_sql(con, "SELECT coalesce(max(upload_id), 0) + 1 FROM upload")[0][0]
    months: dict[str, set[date]] | None = {}
    counts: Counts = {}
    for plan in plans:
        plan_counts, plan_months = write_plan(con, plan, batch_id, today, blobs)
        counts.update(plan_counts)
        if months is None or plan_months is None:
            months = None
        else:
            months.setdefault(plan.kind.name, set()).update(plan_months)
    return Written(batch_id, counts, months)


def write_plan(
    con: duckdb.DuckDBPyConnection,
    plan: KindPlan,
    batch_id: int,
    today: date,
    blobs: KeyBlobs | None = None,
) -> tuple[Counts, set[date] | None]:
    """Write one kind: save replaced rows, delete them, insert, record keys.

    Returns per table (part) index (inserted, updated, unchanged), and the months whose
    facts changed (None when the roster changed).
    """
    kind, frame, matched = plan.kind, plan.frame, plan.matched
    ids = [PART, ROW]
    same = matched.filter(pl.col("same")).select(ids)
    changed = matched.filter(~pl.col("same")).select(ids)
    write = frame.join(same, on=ids, how="anti") if same.height else frame
    cols = ", ".join(kind.names)
    months: set[date] | None = set()
    con.register("_write", write.select(kind.names))  # only what DuckDB reads
    try:
        if changed.height:
            replaced = write.join(changed, on=ids, how="semi").select(kind.key)
            con.register("_replaced", replaced)
            try:
                match = key_match(kind, "t", "r")
                run_sql(
                    con,
                    f"INSERT INTO {prior_table(kind)} (batch_id, {cols}) "
                    f"SELECT ?, {', '.join('t.' + c for c in kind.names)} FROM {kind.table} t "
                    f"WHERE EXISTS (SELECT 1 FROM _replaced r WHERE {match})",
                    [batch_id],
                )
                run_sql(con, f"DELETE FROM {kind.table} t USING _replaced r WHERE {match}")
            finally:
                con.unregister("_replaced")
            months = months_touched(
                con,
                kind,
                f"(SELECT * FROM {prior_table(kind)} WHERE batch_id = $batch)",
                today,
                batch_id,
            )
        run_sql(con, f"INSERT INTO {kind.table} ({cols}) SELECT {cols} FROM _write")
        record_units(con, batch_id, kind.name, "_write")

        # The keys are serialised while DuckDB finds the months: after the insert, not
        # beside it (side by side they raised the peak memory of a 1M-row report load by
        # ~100 MB). When every row of the only table of this kind is written, a thread
        # that is free earlier (the loader's rule checker) may have serialised them.
        def serialise_keys() -> bytes:
            keys = write.select(kind.key)
            if blobs is not None and write is frame and len(plan.parts) == 1:
                return blobs.get(plan.parts[0], keys)
            return keys_blob(keys)

        with ThreadPoolExecutor(max_workers=1) as pool:
            blob = pool.submit(serialise_keys) if write.height else None
            new_months = months_touched(con, kind, "_write", today)
            if blob is not None:
                run_sql(
                    con,
                    "INSERT INTO upload_keys VALUES (?, ?, ?, ?)",
                    [batch_id, kind.name, write.height, blob.result()],
                )
    finally:
        con.unregister("_write")
    months = None if months is None or new_months is None else months | new_months

    parts = plan.parts

    def per_part(f: pl.DataFrame) -> dict[int, int]:
        if len(parts) == 1:  # one table of this kind: no need to group
            return {parts[0]: f.height}
        return dict(f.group_by(PART).len().iter_rows()) if f.height else {}

    written, updated, unchanged = per_part(write), per_part(changed), per_part(same)
    counts = {
        p: (written.get(p, 0) - updated.get(p, 0), updated.get(p, 0), unchanged.get(p, 0))
        for p in parts
    }
    return counts, months
