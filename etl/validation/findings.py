"""Findings: what a check is (:class:`Rule`) and the report rows its hits become.

Errors and warnings are frames with the columns 文件, 行号, 列, 值, 原因 (行号 is the
Excel row number; null for problems of the whole file), the value and header as
written in the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from etl.raw_table import RawTable

REPORT_SCHEMA = {
    "文件": pl.String,
    "行号": pl.Int64,
    "列": pl.String,
    "值": pl.String,
    "原因": pl.String,
}


@dataclass
class Rule:
    """A check: rows where ``mask`` is true are reported against ``column``."""

    column: str
    mask: pl.Expr
    reason: str | pl.Expr


def empty_report() -> pl.DataFrame:
    """An empty report frame (文件, 行号, 列, 值, 原因)."""
    return pl.DataFrame(schema=REPORT_SCHEMA)


def problems_report(raw: RawTable) -> pl.DataFrame:
    """File-level problems (missing columns, no header, ragged rows) as report rows."""
    if not raw.problems:
        return empty_report()
    return pl.DataFrame(
        {
            "文件": [raw.label] * len(raw.problems),
            "行号": [p.row for p in raw.problems],
            "列": [p.column for p in raw.problems],
            "值": [p.value for p in raw.problems],
            "原因": [p.reason for p in raw.problems],
        },
        schema=REPORT_SCHEMA,
    )


def extra_column_warnings(raw: RawTable) -> pl.DataFrame:
    """Unknown columns are ignored, with a warning each."""
    if not raw.extra_headers:
        return empty_report()
    n = len(raw.extra_headers)
    return pl.DataFrame(
        {
            "文件": [raw.label] * n,
            "行号": [raw.header_row] * n,
            "列": raw.extra_headers,
            "值": [""] * n,
            "原因": ["未知的列，已忽略"] * n,
        },
        schema=REPORT_SCHEMA,
    )
