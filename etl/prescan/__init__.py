"""Measure a file before any reader allocates for it.

A few hundred bytes can ask a reader for gigabytes: a workbook whose sheet declares or
uses a cell near the last one a sheet can hold, a CSV line of millions of separators
(one column each), a zip member that inflates far beyond what it declares, a boundary
polygon of a million vertices. Every file that enters (CLI load, upload page, boundary
replacement) is measured here first, by streaming over its bytes with bounded memory;
a file over a limit of :class:`etl.limits.ReadLimits` is rejected with a Chinese
message that names the file, the sheet or line and the limit.

What is measured:

* any file: its size;
* text (CSV): control characters (C0 but tab, CR, LF) anywhere, the number of lines,
  the longest line, the most fields on a line, the longest field;
* .xlsx: the zip's members (count, declared and actual inflated sizes, compression
  method), and per worksheet, read from its XML as a stream: the declared dimension,
  the rows, the highest row and column used, the cells;
* GeoJSON: features and vertices (an upper bound from the raw bytes first, exact once
  parsed).

This package holds what any file needs (the errors, the size, the cell count); the
formats are measured in :mod:`etl.prescan.text`, :mod:`etl.prescan.workbook` and
:mod:`etl.prescan.geojson`.

Formats this package cannot measure (legacy .xls, .ods) are bounded by their size and
by the isolated reading process (:mod:`etl.isolation`), the second wall.
"""

from __future__ import annotations

import re

from etl.limits import ReadLimits

CONTROL_CHARACTERS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ReadError(ValueError):
    """A file that cannot be read at all (not CSV/Excel, undecodable, over a limit)."""


class LimitExceeded(ReadError):
    """A file over one of the reading limits; nothing was parsed."""


def megabytes(n: float) -> str:
    """A byte count as messages show it: ``12.3 MB``."""
    return f"{n / 2**20:,.1f} MB"


def kilobytes(n: float) -> str:
    """A byte count as messages show it: ``64 KB``."""
    return f"{n / 1024:,.0f} KB"


def check_size(size: int, limits: ReadLimits) -> None:
    """Reject a file larger than ``limits.file_mb``."""
    if size > limits.file_bytes:
        raise LimitExceeded(
            f"文件大小 {megabytes(size)}，超过单个文件 {megabytes(limits.file_bytes)} 的上限；"
            "请按月份或村居拆分后分别上传"
        )


def control_character_line(text: bytes) -> tuple[int, int] | None:
    """(1-based line, byte value) of the first C0 control character but tab/CR/LF.

    For small texts (GeoJSON); CSVs are measured in one pass by
    :func:`etl.prescan.text.check_text`.
    """
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    return text.count(b"\n", 0, found.start()) + 1, text[found.start()]


def check_cells(rows: int, columns: int, limits: ReadLimits, where: str = "") -> None:
    """Reject a table whose rows × columns exceed ``limits.cells``."""
    if rows * columns > limits.cells:
        raise LimitExceeded(
            f"{where}{rows:,} 行 × {columns:,} 列，超过每个表 {limits.cells:,} 个单元格的上限"
        )
