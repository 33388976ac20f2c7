"""The templates' example rows: recognised in an upload and refused (docs/loading.md).

Every downloadable template (:mod:`etl.templates`) carries one example row. An office
that fills the template in and forgets to delete it would load the example as a real
activity, report or score, so a row that *is* the example is an error naming the row.

A row is the example when

* every column of the kind that the file has equals the example's value (compared
  typed, so ``2026/10/15`` in a workbook's date cell is the example's ``2026-10-15``), or
* the kind's example invents its own id (:data:`etl.templates.RESERVED_EXAMPLE_KEYS`:
  an activity ``HD202610-CJ03-01-999`` that no real log issues) and the row's key is the
  example's key, whatever else was edited.

Kinds whose example key is made of real codes (an evaluation of ``CJ03-01`` for
``2026H1``) are only matched on the whole row, so a real score of that sub-grid loads.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from etl.raw_table import ROW
from etl.templates import EXAMPLES, RESERVED_EXAMPLE_KEYS
from etl.validation.findings import REPORT_SCHEMA, empty_report
from etl.validation.typed_table import Part
from store.contracts import Kind

REASON = "这是模板自带的示例行（第 {} 行），不是实际数据，请删除这一行后重新上传"


def _typed_value(dtype: str, text: str) -> object:
    """The example's text as the loader types it (empty → None)."""
    if text == "":
        return None
    if dtype == "date":
        return date.fromisoformat(text)
    if dtype == "timestamp":
        return datetime.fromisoformat(text)
    if dtype == "int":
        return int(text)
    if dtype == "float":
        return float(text)
    if dtype == "bool":
        return text == "是"
    return text


def example_frame(kind: Kind) -> pl.DataFrame | None:
    """The kind's example row, typed like an uploaded row; None if it has none."""
    example = EXAMPLES.get(kind.name)
    if example is None:
        return None
    return pl.DataFrame(
        {c.name: [_typed_value(c.dtype, example[c.name])] for c in kind.columns},
        schema={c.name: _polars_type(c.dtype) for c in kind.columns},
    )


def _polars_type(dtype: str) -> pl.DataType:
    return {
        "date": pl.Date(),
        "timestamp": pl.Datetime("us"),
        "int": pl.Int64(),
        "float": pl.Float64(),
        "bool": pl.Boolean(),
    }.get(dtype, pl.String())


def example_rows(part: Part) -> pl.DataFrame:
    """Report rows (文件 行号 列 值 原因) for the rows of ``part`` that are the example."""
    kind = part.kind
    example = example_frame(kind)
    present = [c for c in kind.names if c in part.text.columns]
    if example is None or not set(kind.key) <= set(present) or part.typed.is_empty():
        return empty_report()
    # The rows with the example's key first: a whole-row match has that key too, and
    # hashing every column of a million rows took 0.6 s of a 1M-row report load.
    same_key = pl.all_horizontal(
        pl.col(k).eq_missing(pl.lit(example[k][0], dtype=example.schema[k])) for k in kind.key
    )
    candidates = part.typed.select(ROW, *present).filter(same_key)
    whole = candidates.join(example.select(present), on=present, how="semi", nulls_equal=True)
    found = (candidates if kind.name in RESERVED_EXAMPLE_KEYS else whole)[ROW].sort()
    if found.is_empty():
        return empty_report()
    column = kind.key[0]
    header = part.raw.headers.get(column, kind.column(column).header)
    rows = found.to_list()
    return pl.DataFrame(
        {
            "文件": [part.label] * len(rows),
            "行号": rows,
            "列": [header] * len(rows),
            "值": [EXAMPLES[kind.name][column]] * len(rows),
            "原因": [REASON.format(r) for r in rows],
        },
        schema=REPORT_SCHEMA,
    )
