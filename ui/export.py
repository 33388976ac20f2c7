"""Exports: every table as CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX.

Text cells that begin with ``=``, ``+``, ``-`` or ``@`` (also after leading spaces,
tabs or CR) are prefixed with an apostrophe so a spreadsheet treats them as text,
not as a formula (CSV/formula injection). Numbers are left alone, so negative
values stay numeric.
"""

from __future__ import annotations

import io

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
