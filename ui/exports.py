"""Exports: every table and chart as CSV (UTF-8 with BOM, so Excel shows Chinese) and
XLSX, built when the user clicks and written to the audit log.

Text cells that begin with ``=``, ``+``, ``-`` or ``@`` (also after leading spaces,
tabs or CR) are prefixed with an apostrophe so a spreadsheet treats them as text,
not as a formula (CSV/formula injection). Numbers are left alone, so negative
values stay numeric. An export holds the numbers as the table shows them: the
headers and rounding of :mod:`metrics.glossary`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import polars as pl
import streamlit as st

from store import audit
from ui import session
from ui.db import cursor

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with ``'``."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            risky = col.str.strip_chars_start(" ").str.contains(r"^[=+\-@\t\r]")
            exprs.append(pl.when(risky).then(pl.lit("'") + col).otherwise(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM, formula-neutralised."""
    text = neutralise(frame).write_csv(null_value="")
    return ("\ufeff" + text).encode("utf-8")


def xlsx_bytes(frame: pl.DataFrame, sheet: str = "数据") -> bytes:
    """An XLSX workbook with one sheet, formula-neutralised; strings are never formulas."""
    buffer = io.BytesIO()
    neutralise(frame).write_excel(
        buffer,
        worksheet=sheet[:31],
        autofit=True,
        include_header=True,
    )
    return buffer.getvalue()


def file_slug(text: str) -> str:
    """A file name from an export's Chinese name: '总览_成绩单' stays, '/' becomes '_'."""
    return re.sub(r"[^\w\u4e00-\u9fff-]+", "_", text).strip("_") or "export"


def audited_export(frame: pl.DataFrame, name: str, fmt: str, who: str) -> bytes:
    """The bytes of an export (``fmt`` csv or xlsx), recorded in the audit log for ``who``."""
    data = csv_bytes(frame) if fmt == "csv" else xlsx_bytes(frame, sheet=name)
    audit.record(cursor(), who, "export", f"{name}.{fmt}（{frame.height} 行）")
    return data


def download_pair(
    csv_data: Callable[[], bytes],
    xlsx_data: Callable[[], bytes],
    file_stem: str,
    key: str,
    labels: tuple[str, str] = ("下载 CSV", "下载 Excel"),
    widths: tuple[int, int, int] = (1, 1, 6),
) -> None:
    """A CSV and an Excel download side by side; each file is built when clicked.

    The buttons' keys are ``<key>_csv`` and ``<key>_xlsx``. They sit in a row that
    stays a row on a phone (columns would stack them, a screen's height for two
    buttons); ``widths`` is no longer used and kept for existing callers.
    """
    del widths
    row = st.container(horizontal=True, gap="small")
    files = ((csv_data, "csv", "text/csv"), (xlsx_data, "xlsx", XLSX_MIME))
    for label, (data, fmt, mime) in zip(labels, files, strict=False):
        row.download_button(
            label,
            data=data,
            file_name=f"{file_stem}.{fmt}",
            mime=mime,
            key=f"{key}_{fmt}",
            on_click="ignore",
        )


def export_buttons(frame: pl.DataFrame, name: str, key: str | None = None) -> None:
    """CSV (UTF-8 with BOM) and XLSX downloads of ``frame``, formula-neutralised."""
    slug = file_slug(name)
    # Read now: the download callback may run outside this script run.
    who = session.user_name()
    download_pair(
        lambda: audited_export(frame, name, "csv", who),
        lambda: audited_export(frame, name, "xlsx", who),
        slug,
        key or slug,
    )


def chart_export(frame: pl.DataFrame, name: str, key: str) -> None:
    """The download buttons of a chart's underlying frame (nothing when empty)."""
    if not frame.is_empty():
        export_buttons(frame, name, key=key)
