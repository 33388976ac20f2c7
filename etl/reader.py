"""Read uploaded files (CSV or Excel, as offices produce them) into raw text tables.

One uploaded file gives one :class:`RawTable` per table found in it: a CSV holds one; a
workbook holds one per sheet whose header row is recognised (a month's activities and
sign-ins often share a workbook; a 说明 sheet without a header is skipped).

What is tolerated here (the cell-level quirks are :mod:`etl.normalize`'s business):

* encodings, detected and never asked: UTF-8 with or without BOM, GBK/GB18030 (Excel
  on Chinese Windows), UTF-16 with BOM (Excel's "Unicode text", tab-separated);
* title rows above the header (``漕泾镇2026年10月活动台账``): the header is the first of
  the first :data:`HEADER_SEARCH_ROWS` rows that names at least two known columns;
* Chinese headers or English aliases, in any order, with stray spaces, full-width
  letters or required-field markers (``活动编号*``);
* trailing (and interspersed) empty rows and empty columns.

Row numbers are the ones the user sees in Excel (1-based, title rows included) so that
error reports point at the right line.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field

import polars as pl

from etl.limits import ReadLimits, default_limits
from etl.normalize import clean, normalize_header
from etl.prescan import (
    CONTROL_CHARACTERS,
    LimitExceeded,
    ReadError,
    check_cells,
    check_fields,
    check_size,
    check_text,
    check_workbook,
    count_fields,
    widest_line,
)
from store.contracts import KINDS, Kind

ROW = "_row"  # Excel row number of each data row
HEADER_SEARCH_ROWS = 30
CLEAN_ALL_BYTES = 64 * 2**20  # text tables smaller than this are cleaned in one pass
_PREFIX_BYTES = 256 * 1024  # enough text to find the header row below any title rows
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


@dataclass
class Problem:
    """A file-level problem, reported like a row error (row = header row)."""

    row: int | None
    column: str
    value: str
    reason: str


@dataclass
class RawTable:
    """One table read from an uploaded file, still as text.

    ``text`` has one String column per recognised column (named by the database
    column, see :mod:`store.contracts`) exactly as read (an empty field is null; cells are
    not yet stripped), plus :data:`ROW`. :attr:`frame` is the cleaned view. ``headers``
    maps column name → the header as written in the file.
    """

    file_name: str
    sheet: str | None
    kind: Kind | None
    header_row: int | None
    headers: dict[str, str] = field(default_factory=dict)
    text: pl.DataFrame = field(default_factory=pl.DataFrame)
    extra_headers: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    encoding: str | None = None
    _frame: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How reports name this table: the file name, plus the sheet for workbooks."""
        return f"{self.file_name} / {self.sheet}" if self.sheet else self.file_name

    @property
    def frame(self) -> pl.DataFrame:
        """The text cleaned (every cell stripped, empty → null), empty rows dropped.

        Computed on first use. The loader does not need it: its typing step
        (:func:`etl.validate.type_table`) strips only the columns that are not already
        in their canonical form, which is most of the cost of a large clean file.
        """
        if self._frame is None:
            self._frame = drop_empty_rows(clean_columns(self.text, self.value_columns))
        return self._frame

    def replace_text(self, text: pl.DataFrame) -> None:
        """Swap in a partly cleaned copy of ``text`` (same rows but for empty ones)."""
        self.text = text
        self._frame = None

    @property
    def value_columns(self) -> list[str]:
        """The recognised columns present (``text`` without :data:`ROW`)."""
        return [c for c in self.text.columns if c != ROW]


def non_empty_rows(frame: pl.DataFrame) -> pl.Series | None:
    """Mask of the rows with a value in some cell; None when every row has one."""
    values = [c for c in frame.columns if c != ROW]
    if not values:
        return None
    keep = frame.select(pl.any_horizontal(pl.col(c).is_not_null() for c in values)).to_series()
    return None if keep.all() else keep


def drop_empty_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose every cell (cleaned) is null go: Excel's empty and trailing rows."""
    keep = non_empty_rows(frame)
    return frame if keep is None else frame.filter(keep)  # only copy when there is one


def header_aliases(kinds=None) -> dict[Kind, dict[str, str]]:
    """Per kind: normalised header (Chinese or English alias) → column name."""
    out = {}
    for kind in kinds or KINDS.values():
        lookup = {}
        for c in kind.columns:
            lookup[normalize_header(c.header)] = c.name
            lookup[normalize_header(c.name)] = c.name
        out[kind] = lookup
    return out


_ALIASES = header_aliases()


@dataclass
class HeaderMatch:
    kind: Kind
    columns: dict[int, str]  # cell position → column name
    missing: list[str]  # required column names absent
    duplicates: list[int]  # positions naming a column already named


def match_header(cells: list[object]) -> HeaderMatch | None:
    """The kind a header row names (most recognised columns wins), or None.

    A row counts as a header when it names at least two columns of some kind.
    """
    norm = [normalize_header(c) for c in cells]
    best: HeaderMatch | None = None
    best_score = (0, 0)
    for kind, lookup in _ALIASES.items():
        columns: dict[int, str] = {}
        duplicates: list[int] = []
        for pos, h in enumerate(norm):
            name = lookup.get(h)
            if name is None:
                continue
            if name in columns.values():
                duplicates.append(pos)
            else:
                columns[pos] = name
        if len(columns) < 2:
            continue
        missing = [c.name for c in kind.columns if c.required and c.name not in columns.values()]
        # complete matches first, then the most recognised columns
        score = (1 if not missing else 0, len(columns))
        if score > best_score:
            best, best_score = HeaderMatch(kind, columns, missing, duplicates), score
    return best


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
    _fill_table(table, match, holder, first_row=line + 1, limits=limits)
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


def clean_columns(data: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Strip the cells of ``names``; the cells left empty become nulls (see :func:`clean`).

    Polars already reads an empty CSV field as null, so the costlier empty → null
    replacement only runs on the columns that hold an empty string after stripping
    (quoted ``""`` or blanks). Small tables are stripped in one parallel pass; big ones
    a few columns at a time, each raw column freed as soon as its stripped copy exists
    (a 1M-row report file would otherwise hold two full copies of its text).
    """
    step = len(names) if data.estimated_size() < CLEAN_ALL_BYTES else 4
    for i in range(0, len(names), max(step, 1)):
        chunk = names[i : i + step]
        data = data.with_columns(pl.col(chunk).str.strip_chars())
        empty = data.select((pl.col(c).str.len_bytes() == 0).any() for c in chunk).row(0)
        blank = [c for c, has in zip(chunk, empty, strict=True) if has]
        if blank:
            data = data.with_columns(clean(pl.col(c)).alias(c) for c in blank)
    return data


def _fill_table(
    table: RawTable,
    match: HeaderMatch,
    holder: list[pl.DataFrame],
    first_row: int,
    limits: ReadLimits,
) -> None:
    """Turn a text grid whose first row is the header into the table's columns.

    The grid comes in a one-item list that this function empties, so that the caller
    keeps no reference to the columns this table does not use.
    """
    grid = holder.pop()
    header = grid.row(0) if grid.height else ()
    table.kind = match.kind
    names = grid.columns
    rename: dict[str, str] = {}
    for pos, name in match.columns.items():
        rename[names[pos]] = name
        table.headers[name] = str(header[pos]).strip()
    for pos in match.duplicates:
        table.problems.append(
            Problem(table.header_row, str(header[pos]).strip(), "", "列名重复：同一列出现了两次")
        )
    data = grid.slice(1)
    del grid
    unknown = [
        (pos, header[pos])
        for pos in range(len(names))
        if pos not in match.columns and pos not in match.duplicates
    ]
    # Unknown columns: a warning when they carry a header or data, silently dropped when
    # they are the empty trailing columns Excel leaves behind.
    for pos, text in unknown:
        text = "" if text is None else str(text).strip()
        if text:
            table.extra_headers.append(text)
        elif data.height and data.select(clean(pl.col(names[pos])).is_not_null().any()).item():
            table.extra_headers.append(f"第 {pos + 1} 列（无表头）")
    table.missing_columns = list(match.missing)
    for name in match.missing:
        header_text = match.kind.column(name).header
        table.problems.append(Problem(table.header_row, header_text, "", "缺少必填列"))
    # Rows of nothing but empty fields go now (cheap: no cleaning needed); rows of
    # blanks go after cleaning (RawTable.frame, or the loader's typing step).
    frame = data.select(list(rename)).rename(rename).with_row_index(ROW, offset=first_row + 1)
    del data
    table.text = drop_empty_rows(frame.with_columns(pl.col(ROW).cast(pl.Int64)))
    table.problems.extend(_cell_problems(table, limits))


def _cell_problems(table: RawTable, limits: ReadLimits) -> list[Problem]:
    """Cells over the size limit or holding control characters (first one per column).

    A CSV's bytes were measured before parsing; a quoted field can still hold
    separators, and a workbook's cells are only seen once read, so the cells are
    checked again here (vectorised: cheap next to the reading).
    """
    names = table.value_columns
    if not names or table.text.is_empty():
        return []
    pattern = CONTROL_CHARACTERS.pattern.decode()
    found = table.text.select(
        *[
            (pl.col(c).str.len_bytes() > limits.field_bytes).arg_true().first().alias(c)
            for c in names
        ],
        *[pl.col(c).str.contains(pattern).arg_true().first().alias(f"{c}\x00") for c in names],
    ).row(0, named=True)
    problems = []
    for name in names:
        header = table.headers.get(name, name)
        big, control = found[name], found[f"{name}\x00"]
        if big is not None:
            problems.append(
                Problem(
                    int(table.text[ROW][big]),
                    header,
                    "",
                    f"单元格超过 {limits.field_kb} KB 的上限",
                )
            )
        if control is not None:
            problems.append(
                Problem(int(table.text[ROW][control]), header, "", "单元格含有控制字符")
            )
    return problems


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
            _fill_table(table, match, [grid.slice(i)], first_row=i + 1, limits=limits)
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
