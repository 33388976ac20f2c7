"""Read uploaded files (CSV or Excel, as offices produce them) into raw text tables.

One uploaded file gives one :class:`etl.raw_table.RawTable` per table found in it: a
CSV holds one; a workbook holds one per sheet whose header row is recognised (a
month's activities and sign-ins often share a workbook; a 说明 sheet without a header
is skipped).

What is tolerated here (the cell-level quirks are :mod:`etl.normalize`'s business):

* encodings, detected and never asked: UTF-8 with or without BOM, GBK/GB18030 (Excel
  on Chinese Windows), UTF-16 with BOM (Excel's "Unicode text", tab-separated);
* title rows above the header (``漕泾镇2026年10月活动台账``): the header is the first of
  the first :data:`etl.headers.HEADER_SEARCH_ROWS` rows that names at least two known columns;
* Chinese headers or English aliases, in any order, with stray spaces, full-width
  letters or required-field markers (``活动编号*``; :mod:`etl.headers`);
* trailing (and interspersed) empty rows and empty columns.

Row numbers are the ones the user sees in Excel (1-based, title rows included) so that
error reports point at the right line.
"""

from __future__ import annotations

import codecs
import csv

import polars as pl

from etl.headers import HEADER_SEARCH_ROWS, HeaderMatch, match_header
from etl.limits import ReadLimits, default_limits
from etl.normalize import clean
from etl.prescan import LimitExceeded, ReadError, check_cells, check_size
from etl.prescan.text import check_fields, check_text, count_fields, widest_line
from etl.prescan.workbook import check_workbook
from etl.raw_table import Problem, RawTable, fill_table

_PREFIX_BYTES = 256 * 1024  # enough text to find the header row below any title rows
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def read_upload(file_name: str, data: bytes, limits: ReadLimits | None = None) -> list[RawTable]:
    """Read one uploaded file (CSV or Excel, by content) into raw tables.

    The file is measured first (:mod:`etl.prescan`) against ``limits`` (default: the
    configured ones). Raises :class:`ReadError` when the bytes are neither a workbook
    nor decodable text, :class:`LimitExceeded` (a ReadError) when over a limit.
    """
    limits = limits or default_limits().read
    check_size(len(data), limits)
    if data.startswith((_XLSX_MAGIC, _XLS_MAGIC)) or file_name.lower().endswith(EXCEL_SUFFIXES):
        return _read_workbook(file_name, data, limits)
    return [_read_csv(file_name, data, limits)]


# --------------------------------------------------------------------------- CSV


def _decode_prefix(data: bytes) -> tuple[str, str, bytes]:
    """Detect the encoding: (encoding label, prefix text, UTF-8 body for Polars)."""
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            return "UTF-8 (BOM)", _prefix_text(body, "utf-8"), body
        except UnicodeDecodeError as exc:
            # A UTF-8 mark over bytes that are not UTF-8 (a damaged file): a clean
            # rejection, not a UnicodeDecodeError escaping the reader.
            raise ReadError("文件以 UTF-8 标记开头，但内容无法按 UTF-8 解码") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError("文件以 UTF-16 标记开头，但内容无法解码") from exc
        body = text.encode("utf-8")
        return "UTF-16", _prefix_text(body, "utf-8"), body
    try:
        return "UTF-8", _prefix_text(data, "utf-8"), data
    except UnicodeDecodeError:
        pass
    try:
        return "GB18030", _prefix_text(data, "gb18030"), data
    except UnicodeDecodeError as exc:
        raise ReadError("无法识别文件编码（支持 UTF-8、GBK/GB18030）") from exc


def _prefix_text(data: bytes, encoding: str) -> str:
    """Decode the first lines; cut at a newline (never inside a GBK or UTF-8 character)."""
    prefix = data[:_PREFIX_BYTES]
    if len(data) > _PREFIX_BYTES and b"\n" in prefix:
        prefix = prefix[: prefix.rindex(b"\n") + 1]
    return prefix.decode(encoding)


def _to_utf8(data: bytes, encoding: str) -> bytes:
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError("无法识别文件编码（支持 UTF-8、GBK/GB18030）") from exc


def _find_csv_header(
    prefix: str, limits: ReadLimits
) -> tuple[int, str, list[str], HeaderMatch | None]:
    """(line index, separator, cells, match) of the header row among the first lines."""
    lines = prefix.splitlines()[:HEADER_SEARCH_ROWS]
    first_cells: tuple[int, str, list[str]] | None = None
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        for sep in (",", "\t", ";"):
            if sep not in line and sep != ",":
                continue
            if line.count(sep) >= limits.columns and count_fields(line, sep) > limits.columns:
                raise LimitExceeded(
                    f"第 {i + 1} 行有 {count_fields(line, sep):,} 列，"
                    f"超过每个表 {limits.columns} 列的上限"
                )
            cells = next(csv.reader([line], delimiter=sep), [])
            if first_cells is None and sep == ",":
                first_cells = (i, sep, cells)
            match = match_header(cells)
            if match is not None:
                return i, sep, cells, match
    if first_cells is None:
        return 0, ",", [], None
    return (*first_cells, None)


def _read_csv(file_name: str, data: bytes, limits: ReadLimits) -> RawTable:
    if not data or data.isspace():
        raise ReadError("文件是空的")
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError("不是 CSV 文本文件，也不是 Excel 工作簿")
    if b"\r" in data and b"\n" not in data:
        # Old Mac Excel's "CSV (Macintosh)" ends lines with CR alone; Polars would read
        # one long line. CR never occurs inside a UTF-8 or GBK multi-byte character.
        data = data.replace(b"\r", b"\n")
    encoding, prefix, body = _decode_prefix(data)
    shape = check_text(body, limits)
    line, sep, cells, match = _find_csv_header(prefix, limits)
    table = RawTable(file_name, None, None, line + 1, encoding=encoding)
    if match is None:
        table.problems.append(_no_header_problem(cells))
        return table
    check_fields(body, shape, sep, limits)
    check_cells(shape.lines - line, len(cells), limits)
    # Skip the title rows by text offset so that quoting cannot confuse the count.
    offset = sum(len(x) for x in prefix.splitlines(keepends=True)[:line])
    skip = len(prefix[:offset].encode("utf-8"))
    if encoding == "GB18030":
        body = _to_utf8(data, "gb18030")
    if skip:  # slicing copies the whole body: only when there are title rows
        body = body[skip:]
    try:
        grid = _polars_csv(body, sep, limits)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower() or encoding != "UTF-8":
            raise ReadError(f"无法读取 CSV：{exc}") from exc
        # Valid UTF-8 at the top, GBK further down: Excel never mixes, but editors can.
        table.encoding = "GB18030"
        body = _to_utf8(data, "gb18030")[skip:]
        try:
            grid = _polars_csv(body, sep, limits)
        except pl.exceptions.ComputeError as retry:
            # The retry fails like a first read on a malformed file: the same clean
            # rejection (unguarded, Polars' ComputeError escaped the reader).
            raise ReadError(f"无法读取 CSV：{retry}") from retry
    if "_ragged" in grid.columns:
        width = len(cells)
        table.problems.extend(_ragged_rows(grid, width, line + 1))
        grid = grid.select(grid.columns[:width])
    holder = [grid]
    del grid
    fill_table(table, match, holder, first_row=line + 1, limits=limits)
    return table


def _polars_csv(body: bytes, sep: str, limits: ReadLimits) -> pl.DataFrame:
    """All cells as text, header row included as the first row (row index = Excel row).

    Rows longer than the first are read padded to the most fields any line holds
    (measured on the bytes, quoted separators included: never fewer than there are).
    """
    try:
        return pl.read_csv(
            body, has_header=False, infer_schema=False, separator=sep, raise_if_empty=False
        )
    except pl.exceptions.ComputeError as exc:
        if "more fields" not in str(exc):
            raise
    # Rows with more cells than the first: read them padded, and let _ragged_rows check.
    width = widest_line(body, sep)
    check_cells(body.count(b"\n") + 1, width, limits)
    frame = pl.read_csv(
        body,
        has_header=False,
        separator=sep,
        schema={f"column_{i + 1}": pl.String for i in range(width)},
        missing_columns="insert",
    )
    return frame.with_columns(pl.lit(True).alias("_ragged"))


def _ragged_rows(grid: pl.DataFrame, width: int, first_row: int) -> list[Problem]:
    """Rows with values beyond the header's last column (an unquoted comma, usually)."""
    extra = [c for c in grid.columns[width:] if c != "_ragged"]
    if not extra:
        return []
    rows = (
        grid.with_row_index("_i")
        .slice(1)
        .filter(pl.any_horizontal(clean(pl.col(c)).is_not_null() for c in extra))
    )
    return [
        Problem(
            first_row + i,
            "",
            "",
            f"该行的单元格多于表头的 {width} 列，可能含有未加引号的英文逗号",
        )
        for i in rows["_i"].to_list()
    ]


def _no_header_problem(cells: list[object]) -> Problem:
    seen = "、".join(str(c) for c in cells[:6] if c not in (None, "")) or "（空）"
    return Problem(
        None,
        "",
        seen,
        "未找到可识别的表头行：请使用模板中的列名（如 活动编号、活动日期 …）",
    )


# ------------------------------------------------------------------------- Excel


def _read_workbook(file_name: str, data: bytes, limits: ReadLimits) -> list[RawTable]:
    if data.startswith(_XLSX_MAGIC):
        check_workbook(data, limits)
    try:
        sheets = pl.read_excel(
            data,
            sheet_id=0,
            engine="calamine",
            has_header=False,
            # skip_rows=0 makes row 0 the sheet's first row even when it is empty, so
            # frame row i is Excel row i + 1; every cell as text, as in a CSV.
            read_options={"skip_rows": 0, "dtypes": "string"},
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as exc:  # fastexcel raises its own exception types
        raise ReadError("无法打开 Excel 工作簿：文件可能已损坏，或不是 .xlsx 格式") from exc
    tables = []
    for sheet, grid in sheets.items():
        if grid.width == 0 or grid.height == 0:
            continue
        head = grid.head(HEADER_SEARCH_ROWS)
        for i in range(head.height):
            match = match_header(list(head.row(i)))
            if match is None:
                continue
            table = RawTable(file_name, sheet, None, i + 1, encoding="xlsx")
            fill_table(table, match, [grid.slice(i)], first_row=i + 1, limits=limits)
            tables.append(table)
            break
    if not tables:
        first = next((g for g in sheets.values() if g.height and g.width), None)
        cells = list(first.row(0)) if first is not None else []
        table = RawTable(file_name, None, None, None, encoding="xlsx")
        problem = _no_header_problem(cells)
        problem.reason = "工作簿中没有可识别表头的工作表：" + problem.reason.split("：", 1)[1]
        table.problems.append(problem)
        tables.append(table)
    return tables
