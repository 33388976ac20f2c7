"""What a registry upload (村居, 子网格, 党群服务站点) must keep, and what it changes.

A registry file updates the stored rows by id like every kind (docs/loading.md,
"Replacing the registry"). Two things would silently corrupt the data already loaded,
so they are checked against the database:

* **Ids never disappear.** An upload never deletes a registry id; the ids stored but
  absent from the file stay, and the report says so (a warning naming them and how
  many rows of data refer to each), so a shorter file is never mistaken for a removal.
* **A sub-grid or service point does not silently change village.** Moving ``CJ03-01``
  to ``CJ04`` while activities, people or reports recorded under ``CJ03`` refer to it
  would make those rows contradict their village: refused, naming the rows that refer
  to it. A unit nothing refers to yet may move (a warning says so).

The changes the office should see before confirming are warnings too: every renamed
unit (old name → new), and a village renamed while still marked 是否占位 = 是.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from etl.raw_table import ROW
from etl.validation.findings import REPORT_SCHEMA, empty_report
from etl.validation.references import REFERENCES, key_column
from etl.validation.typed_table import Part
from store.contracts import KINDS

REGISTRY = ("village", "subgrid", "service_point")
SHOWN_IDS = 10  # ids named in one warning before "等"


def _referrers(target: str) -> list[tuple[str, str]]:
    """(child table, column) of every reference to ``target`` from data (not registry)."""
    return [
        (r.kind, r.column) for r in REFERENCES if target in r.targets and r.kind not in REGISTRY
    ]


def reference_counts(
    con: duckdb.DuckDBPyConnection, target: str, ids: pl.Series
) -> dict[str, dict[str, int]]:
    """id → {child kind label → rows referring to it}, for the ``ids`` of ``target``."""
    counts: dict[str, dict[str, int]] = {}
    if ids.is_empty():
        return counts
    con.register("_registry_ids", ids.rename("v").to_frame())
    try:
        for child, column in _referrers(target):
            rows = con.execute(
                f"SELECT {column}, count(*) FROM {child} "
                f"WHERE {column} IN (SELECT v FROM _registry_ids) GROUP BY 1"
            ).fetchall()
            for value, n in rows:
                by_child = counts.setdefault(value, {})
                label = KINDS[child].label
                by_child[label] = by_child.get(label, 0) + n
    finally:
        con.unregister("_registry_ids")
    return counts


def _describe(counts: dict[str, int]) -> str:
    return "、".join(f"{label} {n:,} 行" for label, n in counts.items())


def _row(part: Part, row: int | None, column: str, value: str, reason: str) -> dict:
    header = part.raw.headers.get(column, part.kind.column(column).header)
    return {"文件": part.label, "行号": row, "列": header, "值": value, "原因": reason}


def registry_errors(con: duckdb.DuckDBPyConnection, parts: Sequence[Part]) -> pl.DataFrame:
    """Sub-grids and service points moved to another village while data refers to them."""
    rows = []
    for part in parts:
        if part.kind.name not in ("subgrid", "service_point") or "village_id" not in part.typed:
            continue
        moved = _moved(con, part)
        if moved.is_empty():
            continue
        key = key_column(part.kind.name)
        counts = reference_counts(con, part.kind.name, moved[key])
        for row, unit, old, new in moved.select(ROW, key, "old_village", "village_id").iter_rows():
            if unit in counts:
                rows.append(
                    _row(
                        part,
                        row,
                        "village_id",
                        new,
                        f"{part.kind.label} {unit} 原属村居 {old}，已有数据按原村居记录"
                        f"（{_describe(counts[unit])}），不能改属 {new}；"
                        "如确需调整，请为新村居另建编号",
                    )
                )
    return pl.DataFrame(rows, schema=REPORT_SCHEMA) if rows else empty_report()


def _moved(con: duckdb.DuckDBPyConnection, part: Part) -> pl.DataFrame:
    """Rows of ``part`` whose unit is stored under another village (+ old_village)."""
    key = key_column(part.kind.name)
    stored = con.sql(f"SELECT {key}, village_id AS old_village FROM {part.kind.table}").pl()
    return (
        part.typed.select(ROW, key, "village_id")
        .join(stored, on=key, how="inner")
        .filter(pl.col("village_id") != pl.col("old_village"))
    )


def registry_warnings(con: duckdb.DuckDBPyConnection, parts: Sequence[Part]) -> pl.DataFrame:
    """Ids kept although absent from the file, renamed units, moves nothing refers to."""
    rows: list[dict] = []
    for name in REGISTRY:
        group = [p for p in parts if p.kind.name == name]
        if not group:
            continue
        rows += _kept_ids(con, name, group)
        for part in group:
            rows += _renamed(con, part)
            if name != "village" and "village_id" in part.typed:
                rows += _free_moves(con, part)
    return pl.DataFrame(rows, schema=REPORT_SCHEMA) if rows else empty_report()


def _kept_ids(con: duckdb.DuckDBPyConnection, name: str, group: list[Part]) -> list[dict]:
    key = key_column(name)
    stored = con.sql(f"SELECT {key}, name FROM {name} ORDER BY 1").pl()
    mine = pl.concat([p.typed.select(key) for p in group])
    absent = stored.join(mine, on=key, how="anti")
    if absent.is_empty():
        return []
    counts = reference_counts(con, name, absent[key])
    shown = []
    for unit, unit_name in absent.head(SHOWN_IDS).iter_rows():
        used = sum(counts.get(unit, {}).values())
        shown.append(f"{unit} {unit_name}" + (f"（被 {used:,} 行数据引用）" if used else ""))
    more = f" 等 {absent.height} 个" if absent.height > SHOWN_IDS else ""
    label = KINDS[name].label
    reason = (
        f"数据库中另有 {absent.height} 个{label}不在本文件中，将保留不变（上传只新增或更新，"
        f"不删除编号）：{'、'.join(shown)}{more}"
    )
    return [_row(group[0], None, key, "", reason)]


def _renamed(con: duckdb.DuckDBPyConnection, part: Part) -> list[dict]:
    if "name" not in part.typed:
        return []
    key = key_column(part.kind.name)
    extra = ", is_placeholder AS old_placeholder" if part.kind.name == "village" else ""
    stored = con.sql(f"SELECT {key}, name AS old_name{extra} FROM {part.kind.table}").pl()
    changed = (
        part.typed.join(stored, on=key, how="inner")
        .filter(pl.col("name") != pl.col("old_name"))
        .sort(ROW)
    )
    rows = []
    for r in changed.iter_rows(named=True):
        reason = f"名称将由“{r['old_name']}”改为“{r['name']}”"
        if r.get("is_placeholder"):
            reason += "；是否占位仍为“是”，如已是正式名称请改为“否”"
        rows.append(_row(part, r[ROW], "name", r["name"], reason))
    return rows


def _free_moves(con: duckdb.DuckDBPyConnection, part: Part) -> list[dict]:
    moved = _moved(con, part)
    if moved.is_empty():
        return []
    key = key_column(part.kind.name)
    used = reference_counts(con, part.kind.name, moved[key])
    return [
        _row(part, row, "village_id", new, f"{part.kind.label} {unit} 将由村居 {old} 改属 {new}")
        for row, unit, old, new in moved.select(ROW, key, "old_village", "village_id").iter_rows()
        if unit not in used
    ]
