"""Rows outside the village or month a file is for: flagged before the commit.

A village's activity file holding another village's rows, or October's file holding a
September row, loads without any rule breaking, and the wrong village or month then
gets the credit. These rows are not errors (a town office may file for two villages),
so they are *flagged*: listed before 确认载入, and the page's commit refuses them unless
the user ticks the acceptance (``python -m etl load`` lists them and loads them;
``--refuse-outside`` refuses). Decision record: docs/decisions/0015.

What a table is "for" (declared), in this order:

1. **Its file name** (and sheet name): a village named by id (``CJ03``) or name
   (``营房村``, or ``营房`` without 村/社区) — exactly one — and a month written with its
   year (``2026-10``, ``2026年10月``, ``202610``, ``2026.10``) — exactly one.
2. Otherwise **the majority**: the village of more than half of the table's rows; the
   month of more than half of the dated rows of the whole upload (the batch's month).
   A town-wide file (no village holds a majority) or a file of many months declares
   nothing, and nothing is flagged.

Where a row's village and month come from (the reporting units'
:mod:`store.reporting_units` where they overlap):

* village: its 村居编号; a report's sub-grid's village; a sign-in's activity's village;
  an evaluation's or deduction's unit (the village itself, a sub-grid's, a person's); a
  履职评价's person's village;
* month: 活动日期; a sign-in's activity's date; 扣分日期; 下发日期; for a report, the month
  of its latest step. A report still open is filed again in later months (docs/data.md),
  so a report is outside the month only when its latest step is *after* the month, or
  when it was closed (已办结, 不予受理) *before* the month began.

The registry kinds are the whole town's and are never flagged; evaluations, the roster,
pairings, decisions and ratings have no month.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from etl.raw_table import ROW
from etl.registry_upload import RegistryLists, registry_lists
from etl.validation.findings import REPORT_SCHEMA, empty_report
from etl.validation.lifecycle_rules import REPORT_STEPS
from etl.validation.typed_table import Part
from store.months import month_label

VILLAGE, MONTH = "_village", "_month"
CLOSED_STATUSES = ("已办结", "不予受理")
# The column a row's village is read from, per kind (shown as the 列 of the flag).
VILLAGE_COLUMNS = {
    "activity": "village_id",
    "attendance": "activity_id",
    "report": "subgrid_id",
    "evaluation": "unit_id",
    "deduction": "unit_id",
    "person": "village_id",
    "pairing": "village_id",
    "decision": "village_id",
    "study_notice": "village_id",
    "duty_rating": "person_id",
}
# The column a row's month is read from, per kind.
MONTH_COLUMNS = {
    "activity": "activity_date",
    "attendance": "activity_id",
    "report": "reported_at",
    "deduction": "deduction_date",
    "study_notice": "issued_on",
}

_MONTH_IN_NAME = re.compile(
    r"(?<!\d)(20\d{2})\s*(?:[-_./年]\s*(1[0-2]|0?[1-9])(?!\d)|(1[0-2]|0[1-9])(?!\d))"
)


@dataclass(frozen=True)
class Declared:
    """What one table is for, and how that was found (据文件名 / 据多数行)."""

    village: str | None = None
    village_source: str = ""
    month: date | None = None
    month_source: str = ""


def months_in_name(text: str) -> set[date]:
    """The months written with their year in a file or sheet name."""
    found = set()
    for match in _MONTH_IN_NAME.finditer(text):
        year, month = int(match.group(1)), int(match.group(2) or match.group(3))
        found.add(date(year, month, 1))
    return found


def villages_in_name(text: str, registry: RegistryLists) -> set[str]:
    """The villages a file or sheet name names, by id or by name (with or without the
    trailing 村/社区)."""
    found = set()
    for village_id, name in registry.villages.iter_rows():
        # The substring test first: a town's registry is 14 villages, a city's thousands,
        # and a pattern per village (beyond re's cache) cost a second per table.
        if village_id in text and re.search(
            rf"(?<![A-Za-z0-9]){re.escape(village_id)}(?![0-9A-Za-z])", text
        ):
            found.add(village_id)
            continue
        short = re.sub(r"(村|社区|居委会?)$", "", name or "")
        if (name and name in text) or (len(short) >= 2 and short in text):
            found.add(village_id)
    return found


def declared_by_name(part: Part, registry: RegistryLists) -> Declared:
    """What the file (and sheet) name says the table is for."""
    text = f"{part.raw.file_name} {part.raw.sheet or ''}"
    villages, months = villages_in_name(text, registry), months_in_name(text)
    village = next(iter(villages)) if len(villages) == 1 else None
    month = next(iter(months)) if len(months) == 1 else None
    return Declared(village, "据文件名" if village else "", month, "据文件名" if month else "")


def _majority(values: pl.Series) -> object | None:
    """The value of more than half of the non-null ``values``, if any."""
    values = values.drop_nulls()
    if values.is_empty():
        return None
    counts = values.value_counts(sort=True)
    top, n = counts.row(0)
    return top if n * 2 > values.len() else None


def outside_rows(con: duckdb.DuckDBPyConnection, parts: Sequence[Part]) -> pl.DataFrame:
    """The rows outside the village or month their table is for (文件 行号 列 值 原因)."""
    checked = [p for p in parts if p.kind.name in VILLAGE_COLUMNS and p.typed.height]
    if not checked:
        return empty_report()
    registry = registry_lists(con, parts)
    located = {p.index: _locate(con, p, parts, registry) for p in checked}
    batch_month = _majority(pl.concat([f[MONTH] for f in located.values()]))
    reports = []
    for part in checked:
        frame = located[part.index]
        named = declared_by_name(part, registry)
        village, village_source = named.village, named.village_source
        if village is None:
            village, village_source = _majority(frame[VILLAGE]), "据多数行"
        month, month_source = named.month, named.month_source
        if month is None and batch_month is not None:
            month, month_source = batch_month, "据本批多数行"
        declared = Declared(village, village_source, month, month_source)
        reports.append(_flags(part, frame, declared, registry))
    return pl.concat(reports).sort("文件", "行号", maintain_order=True)


def _locate(
    con: duckdb.DuckDBPyConnection, part: Part, parts: Sequence[Part], registry: RegistryLists
) -> pl.DataFrame:
    """ROW, the row's village and month (first day; null when it has none), and for
    reports whether the latest step is a closing one."""
    kind, typed = part.kind.name, part.typed
    village: pl.Expr = pl.lit(None, pl.String)
    month: pl.Expr = pl.lit(None, pl.Date)
    frame = typed
    subgrid_village = dict(registry.subgrids.select("subgrid_id", "village_id").iter_rows())
    if kind in ("activity", "person", "pairing", "decision", "study_notice"):
        village = pl.col("village_id")
    elif kind == "report":
        village = pl.col("subgrid_id").replace_strict(
            subgrid_village, default=None, return_dtype=pl.String
        )
    elif kind == "attendance":
        frame = typed.join(
            _activities(con, parts, typed["activity_id"]), on="activity_id", how="left"
        )
        village, month = pl.col("_a_village"), pl.col("_a_date").dt.truncate("1mo")
    elif kind in ("evaluation", "deduction", "duty_rating"):
        column = VILLAGE_COLUMNS[kind]
        owners = _owners(con, parts, typed[column], registry)
        village = pl.col(column).replace_strict(owners, default=None, return_dtype=pl.String)
    if kind == "activity":
        month = pl.col("activity_date").dt.truncate("1mo")
    elif kind == "deduction":
        month = pl.col("deduction_date").dt.truncate("1mo")
    elif kind == "study_notice":
        month = pl.col("issued_on").dt.truncate("1mo")
    elif kind == "report":
        month = pl.max_horizontal(*REPORT_STEPS).dt.date().dt.truncate("1mo")
    closed = (
        pl.col("status").is_in(CLOSED_STATUSES)
        if kind == "report" and "status" in frame.columns
        else pl.lit(False)
    )
    return frame.select(
        ROW,
        village.alias(VILLAGE),
        month.cast(pl.Date).alias(MONTH),
        closed.alias("_closed"),
    )


def _activities(
    con: duckdb.DuckDBPyConnection, parts: Sequence[Part], ids: pl.Series
) -> pl.DataFrame:
    """activity_id, _a_village, _a_date of the activities ``ids`` name (upload first)."""
    mine = [
        p.typed.select(
            "activity_id",
            pl.col("village_id").alias("_a_village"),
            pl.col("activity_date").alias("_a_date"),
        )
        for p in parts
        if p.kind.name == "activity"
    ]
    wanted = ids.drop_nulls().unique().rename("v").to_frame()
    con.register("_scope_ids", wanted)
    try:
        stored = con.sql(
            "SELECT activity_id, village_id AS _a_village, activity_date AS _a_date "
            "FROM activity WHERE activity_id IN (SELECT v FROM _scope_ids)"
        ).pl()
    finally:
        con.unregister("_scope_ids")
    return pl.concat([*mine, stored]).unique("activity_id", keep="first")


def _owners(
    con: duckdb.DuckDBPyConnection, parts: Sequence[Part], ids: pl.Series, registry: RegistryLists
) -> dict[str, str]:
    """unit or person id → its village (a village is its own)."""
    owners = {v: v for v in registry.villages["village_id"]}
    owners.update(registry.subgrids.select("subgrid_id", "village_id").iter_rows())
    wanted = ids.drop_nulls().unique()
    people = [p.typed.select("person_id", "village_id") for p in parts if p.kind.name == "person"]
    con.register("_scope_ids", wanted.rename("v").to_frame())
    try:
        stored = con.sql(
            "SELECT person_id, village_id FROM person WHERE person_id IN (SELECT v FROM _scope_ids)"
        ).pl()
    finally:
        con.unregister("_scope_ids")
    for person, village in pl.concat([stored, *people]).iter_rows():
        owners[person] = village
    return owners


def _flags(
    part: Part, frame: pl.DataFrame, declared: Declared, registry: RegistryLists
) -> pl.DataFrame:
    """The flag rows of one table."""
    kind = part.kind
    names = dict(registry.villages.iter_rows())
    rows: list[dict] = []

    def header(column: str) -> str:
        return part.raw.headers.get(column, kind.column(column).header)

    def place(village: str) -> str:
        return f"{names.get(village, village)}（{village}）"

    if declared.village is not None:
        column = VILLAGE_COLUMNS[kind.name]
        values = dict(part.typed.select(ROW, column).iter_rows())
        others = frame.filter(pl.col(VILLAGE).is_not_null() & (pl.col(VILLAGE) != declared.village))
        for row, village in others.select(ROW, VILLAGE).iter_rows():
            rows.append(
                {
                    "文件": part.label,
                    "行号": row,
                    "列": header(column),
                    "值": str(values.get(row) or ""),
                    "原因": f"本文件是{place(declared.village)}的数据"
                    f"（{declared.village_source}），此行属于{place(village)}",
                }
            )
    if declared.month is not None and kind.name in MONTH_COLUMNS:
        rows += _month_flags(part, frame, declared, header(MONTH_COLUMNS[kind.name]))
    return pl.DataFrame(rows, schema=REPORT_SCHEMA) if rows else empty_report()


def _month_flags(part: Part, frame: pl.DataFrame, declared: Declared, header: str) -> list[dict]:
    month = declared.month
    assert month is not None
    dated = frame.filter(pl.col(MONTH).is_not_null())
    is_report = part.kind.name == "report"
    if is_report:
        off = dated.filter((pl.col(MONTH) > month) | (pl.col("_closed") & (pl.col(MONTH) < month)))
    else:
        off = dated.filter(pl.col(MONTH) != month)
    column = MONTH_COLUMNS[part.kind.name]
    values = dict(part.text.select(ROW, column).iter_rows()) if column in part.text else {}
    batch = f"本批是{month_label(month)}的数据（{declared.month_source}）"
    rows = []
    for row, row_month, closed in off.select(ROW, MONTH, "_closed").iter_rows():
        if is_report and row_month < month and closed:
            why = f"此事项已于{month_label(row_month)}结束（已办结或不予受理），本月没有新进展"
        elif is_report:
            why = f"此事项的最近进展在{month_label(row_month)}，晚于本批月份"
        else:
            why = f"此行日期在{month_label(row_month)}"
        rows.append(
            {
                "文件": part.label,
                "行号": row,
                "列": header,
                "值": str(values.get(row) or ""),
                "原因": f"{batch}，{why}",
            }
        )
    return rows
