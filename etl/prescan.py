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

Formats this module cannot measure (legacy .xls, .ods) are bounded by their size and
by the isolated reading process (:mod:`etl.isolation`), the second wall.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from etl.limits import ReadLimits

CONTROL_CHARACTERS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CHUNK = 1 << 20
_MAX_TAG = 1 << 20  # one XML tag longer than this is not a spreadsheet's
_XML_PARTS_MAX = 8 << 20  # workbook.xml and its relationships are small


class ReadError(ValueError):
    """A file that cannot be read at all (not CSV/Excel, undecodable, over a limit)."""


class LimitExceeded(ReadError):
    """A file over one of the reading limits; nothing was parsed."""


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def _kb(n: float) -> str:
    return f"{n / 1024:,.0f} KB"


# ------------------------------------------------------------------ any file


def check_size(size: int, limits: ReadLimits) -> None:
    """Reject a file larger than ``limits.file_mb``."""
    if size > limits.file_bytes:
        raise LimitExceeded(
            f"文件大小 {_mb(size)}，超过单个文件 {_mb(limits.file_bytes)} 的上限；"
            "请按月份或村居拆分后分别上传"
        )


def control_character_line(text: bytes) -> tuple[int, int] | None:
    # For small texts (GeoJSON); CSVs are measured in one pass by check_text.
    """(1-based line, byte value) of the first C0 control character but tab/CR/LF."""
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    return text.count(b"\n", 0, found.start()) + 1, text[found.start()]


# ----------------------------------------------------------------------- CSV


@dataclass
class TextShape:
    """Lines of a text file: where each ends (newline positions), the longest."""

    newlines: np.ndarray
    size: int
    longest_line: int = 0

    @property
    def lines(self) -> int:
        return len(self.newlines) + 1


def check_text(body: bytes, limits: ReadLimits) -> TextShape:
    """Control characters, line count and line length of a CSV's text (UTF-8 or GBK).

    Line numbers in messages are the file's (title rows included), as in Excel.
    Separators, quotes, newlines and control characters are ASCII bytes that never
    occur inside a UTF-8 or GB18030 multi-byte character, so the bytes are measured
    as they are, in one vectorised pass over the bytes below 0x20.
    """
    data = np.frombuffer(body, dtype=np.uint8)
    low = np.flatnonzero(data < 32)
    values = data[low]
    control = low[(values != 9) & (values != 10) & (values != 13)]
    newlines = low[values == 10]
    if len(control):
        at = int(control[0])
        line = int(np.searchsorted(newlines, at)) + 1
        raise LimitExceeded(
            f"第 {line} 行含有控制字符（0x{body[at]:02X}），不是正常的表格文本；"
            "请在 Excel 中打开后另存为 CSV"
        )
    shape = TextShape(newlines, len(body))
    if shape.lines > limits.rows + 1:
        raise LimitExceeded(
            f"文件有 {shape.lines:,} 行，超过每个表 {limits.rows:,} 行的上限；请拆分后分别上传"
        )
    bounds = np.concatenate(([-1], newlines, [len(body)]))
    lengths = np.diff(bounds) - 1
    longest = int(lengths.argmax())
    shape.longest_line = int(lengths[longest])
    if shape.longest_line > limits.line_bytes:
        raise LimitExceeded(
            f"第 {longest + 1} 行长 {_kb(shape.longest_line)}，超过每行 {_kb(limits.line_bytes)} "
            "的上限；文件可能不是正常的台账"
        )
    return shape


def count_fields(line: str, separator: str) -> int:
    """Fields of one line as the csv module splits it (quotes respected)."""
    try:
        return len(next(csv.reader([line], delimiter=separator), []))
    except csv.Error:
        return line.count(separator) + 1


def check_fields(body: bytes, shape: TextShape, separator: str, limits: ReadLimits) -> None:
    """Most fields on one line, and the longest field.

    A line of n bytes holds at most n + 1 fields and no field longer than n bytes, so
    files of ordinary lines are done without counting. Otherwise separators are
    counted per line in one vectorised pass; a separator inside quotes counts too, so
    a line over the limit is counted again exactly before it is rejected. The longest
    run without a separator or newline bounds a field from below (a field over the
    limit is over it however it is quoted).
    """
    if shape.longest_line < limits.columns and shape.longest_line <= limits.field_bytes:
        return
    positions, widths = _fields_per_line(body, shape, separator)
    for line in np.flatnonzero(widths > limits.columns)[:1000]:
        text = _line(body, shape, int(line)).decode("utf-8", errors="replace")
        exact = count_fields(text, separator) if '"' in text else int(widths[line])
        if exact > limits.columns:
            raise LimitExceeded(
                f"第 {int(line) + 1} 行有 {exact:,} 列，超过每个表 {limits.columns} 列的上限"
            )
    if shape.longest_line > limits.field_bytes:
        delimiters = np.union1d(positions, shape.newlines)
        bounds = np.concatenate(([-1], delimiters, [len(body)]))
        gaps = np.diff(bounds) - 1
        if gaps.max() > limits.field_bytes:
            at = int(bounds[int(gaps.argmax())] + 1)
            line = int(np.searchsorted(shape.newlines, at)) + 1
            raise LimitExceeded(
                f"第 {line} 行有一个长 {_kb(gaps.max())} 的单元格，"
                f"超过每格 {_kb(limits.field_bytes)} 的上限"
            )


def _fields_per_line(
    body: bytes, shape: TextShape, separator: str
) -> tuple[np.ndarray, np.ndarray]:
    """Separator positions, and fields per line counting quoted separators too."""
    data = np.frombuffer(body, dtype=np.uint8)
    positions = np.flatnonzero(data == ord(separator))
    ends = np.concatenate((shape.newlines, [len(body)]))
    widths = np.diff(np.concatenate(([0], np.searchsorted(positions, ends)))) + 1
    return positions, widths


def widest_line(body: bytes, separator: str) -> int:
    """Most fields on any line of ``body`` (an upper bound: quoted separators count)."""
    newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
    return int(_fields_per_line(body, TextShape(newlines, len(body)), separator)[1].max())


def _line(body: bytes, shape: TextShape, index: int) -> bytes:
    start = 0 if index == 0 else int(shape.newlines[index - 1]) + 1
    end = int(shape.newlines[index]) if index < len(shape.newlines) else len(body)
    return body[start:end]


def check_cells(rows: int, columns: int, limits: ReadLimits, where: str = "") -> None:
    """Reject a table whose rows × columns exceed ``limits.cells``."""
    if rows * columns > limits.cells:
        raise LimitExceeded(
            f"{where}{rows:,} 行 × {columns:,} 列，超过每个表 {limits.cells:,} 个单元格的上限"
        )


# ---------------------------------------------------------------------- XLSX


_SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\b[^>]*>")
_ATTRIBUTE = re.compile(rb'([\w:.-]+)\s*=\s*"([^"]*)"')
_RELATIONSHIP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Relationship\b[^>]*>")
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref="([^"]{0,64})"')
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_ROW_NUMBER = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?row\b[^>]*?\br="([0-9]{1,12})"')
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_CELL_REF = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\br="([A-Za-z]{1,8})([0-9]{1,12})"')
_ROW_OR_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)[\s>/]")
_REF = re.compile(r"^\$?([A-Za-z]{1,8})\$?([0-9]{1,12})$")


def column_number(letters: bytes | str) -> int:
    """Spreadsheet column letters → 1-based number (A → 1, XFD → 16384)."""
    number = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + (ord(ch) - 64)
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class SheetShape:
    """What one worksheet's XML says and holds."""

    name: str
    declared: str | None = None  # the <dimension ref="…">
    rows: int = 0  # <row> elements
    max_row: int = 0  # highest row number used (by a row or a cell)
    max_column: int = 0  # highest column number used
    cells: int = 0  # <c> elements


class _SheetScanner:
    """Feeds a worksheet's XML through in chunks; keeps only counts (bounded memory).

    A chunk is cut before its last ``<``: a tag never contains ``<``, so every tag
    before the cut is whole, and the one after it is carried to the next chunk.
    """

    def __init__(self, name: str):
        self.shape = SheetShape(name)
        self._tail = b""
        self._row_cells = 0  # cells so far in the row being read (rows span chunks)

    def feed(self, chunk: bytes) -> None:
        buffer = self._tail + chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            if len(buffer) > _MAX_TAG:
                raise LimitExceeded(f"工作表「{self.shape.name}」的内容不是正常的 Excel 格式")
            self._tail = buffer
            return
        self._scan(buffer[:cut])
        self._tail = buffer[cut:]
        if len(self._tail) > _MAX_TAG:
            raise LimitExceeded(f"工作表「{self.shape.name}」的内容不是正常的 Excel 格式")

    def finish(self) -> SheetShape:
        self._scan(self._tail)
        self._tail = b""
        return self.shape

    def _scan(self, part: bytes) -> None:
        shape = self.shape
        if shape.declared is None:
            found = _DIMENSION.search(part)
            if found:
                shape.declared = found.group(1).decode("ascii", errors="replace")
        rows = len(_ROW.findall(part))
        cells = len(_CELL.findall(part))
        numbered = [int(n) for n in _ROW_NUMBER.findall(part)]
        references = _CELL_REF.findall(part)
        for letters, row in set(references):
            shape.max_column = max(shape.max_column, column_number(letters))
            shape.max_row = max(shape.max_row, int(row))
        if numbered:
            shape.max_row = max(shape.max_row, max(numbered))
        if len(numbered) < rows:  # rows without r="…" follow the previous one
            shape.max_row = max(shape.max_row, shape.rows + rows)
        if len(references) < cells:  # cells without r="…" take the next column
            shape.max_column = max(shape.max_column, self._widest_row(part))
        shape.rows += rows
        shape.cells += cells

    def _widest_row(self, part: bytes) -> int:
        """Cells of the fullest row, counted tag by tag (only for such unusual sheets)."""
        widest = 0
        for tag in _ROW_OR_CELL.finditer(part):
            if tag.group(1) == b"row":
                self._row_cells = 0
            else:
                self._row_cells += 1
                widest = max(widest, self._row_cells)
        return widest


def _declared_size(ref: str) -> tuple[int, int] | None:
    """(rows, columns) of a dimension like ``A1:XFD1048576`` (None when unreadable)."""
    corners = []
    for corner in ref.split(":")[:2]:
        found = _REF.match(corner.strip())
        if not found:
            return None
        corners.append((int(found.group(2)), column_number(found.group(1))))
    if len(corners) == 1:
        corners.append(corners[0])
    (r1, c1), (r2, c2) = corners
    return abs(r2 - r1) + 1, abs(c2 - c1) + 1


def check_sheet(shape: SheetShape, limits: ReadLimits) -> None:
    """Reject a worksheet whose declared or used range is over the limits."""
    where = f"工作表「{shape.name}」"
    declared = _declared_size(shape.declared) if shape.declared else None
    if declared is not None:
        rows, columns = declared
        if rows > limits.rows or columns > limits.columns or rows * columns > limits.cells:
            raise LimitExceeded(
                f"{where}声明的范围 {shape.declared}（{rows:,} 行 × {columns:,} 列）超过上限"
                f"（{limits.rows:,} 行、{limits.columns} 列、{limits.cells:,} 个单元格）；"
                "请删除多余的行列后另存"
            )
    if shape.max_row > limits.rows:
        raise LimitExceeded(
            f"{where}用到第 {shape.max_row:,} 行，超过每个表 {limits.rows:,} 行的上限"
        )
    if shape.max_column > limits.columns:
        raise LimitExceeded(
            f"{where}用到第 {shape.max_column:,} 列（{_column_letters(shape.max_column)} 列），"
            f"超过每个表 {limits.columns} 列的上限"
        )
    check_cells(shape.max_row, shape.max_column, limits, where=f"{where}的使用范围")


def _member_chunks(data: bytes, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    """The inflated bytes of one zip member, never more than it declares (nor ``limit``).

    Inflated here rather than through :mod:`zipfile`, which stops quietly at the
    declared size: a member that inflates beyond it is a zip bomb aimed at readers
    that trust the stream instead (calamine does).
    """
    if info.flag_bits & 0x1:
        raise LimitExceeded("工作簿已加密，请取消密码保护后另存")
    offset = info.header_offset
    if data[offset : offset + 4] != b"PK\x03\x04":
        raise ReadError("无法打开 Excel 工作簿：文件已损坏")
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    start = offset + 30 + name_length + extra_length
    raw = memoryview(data)[start : start + info.compress_size]
    allowed = min(info.file_size, limit)
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        pieces: Iterator[bytes] = (bytes(raw[i : i + _CHUNK]) for i in range(0, len(raw), _CHUNK))
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        pieces = _inflate(raw)
    else:
        raise ReadError("无法打开 Excel 工作簿：不支持的压缩方式")
    for piece in pieces:
        produced += len(piece)
        if produced > allowed:
            raise LimitExceeded(
                f"工作簿中的 {info.filename} 解压后超过其声明的大小或 {_mb(limit)} 的上限，"
                "文件可能是恶意构造的"
            )
        yield piece


def _inflate(raw: memoryview) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15)
    for i in range(0, len(raw), 64 * 1024):
        pending = bytes(raw[i : i + 64 * 1024])
        while pending:
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error as exc:
                raise ReadError("无法打开 Excel 工作簿：文件已损坏") from exc
            if out:
                yield out
            pending = inflater.unconsumed_tail
    tail = inflater.flush()
    if tail:
        yield tail


def _sheet_names(archive: zipfile.ZipFile, data: bytes) -> dict[str, str]:
    """Worksheet part (``xl/worksheets/sheet1.xml``) → the name the user sees."""

    def read(name: str) -> bytes:
        try:
            info = archive.getinfo(name)
        except KeyError:
            return b""
        return b"".join(_member_chunks(data, info, _XML_PARTS_MAX))

    targets = {}
    for tag in _RELATIONSHIP.findall(read("xl/_rels/workbook.xml.rels")):
        attributes = dict(_ATTRIBUTE.findall(tag))
        target = attributes.get(b"Target", b"").decode("utf-8", errors="replace")
        target = target.lstrip("/")
        if not target.startswith("xl/"):
            target = "xl/" + target
        targets[attributes.get(b"Id", b"")] = target
    names = {}
    for tag in _SHEET_TAG.findall(read("xl/workbook.xml")):
        attributes = dict(_ATTRIBUTE.findall(tag))
        rel = next((v for k, v in attributes.items() if k.endswith(b":id")), b"")
        name = attributes.get(b"name", b"").decode("utf-8", errors="replace")
        if rel in targets:
            names[targets[rel]] = name
    return names


def check_workbook(data: bytes, limits: ReadLimits) -> list[SheetShape]:
    """Measure an .xlsx/.xlsm workbook (a zip of XML parts) before any reader opens it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReadError("无法打开 Excel 工作簿：文件可能已损坏，或不是 .xlsx 格式") from exc
    if len(members) > limits.sheets * 20 + 100:
        raise LimitExceeded(f"工作簿内部包含 {len(members):,} 个部件，不是正常的 Excel 文件")
    declared = sum(m.file_size for m in members)
    if declared > limits.unzipped_bytes:
        raise LimitExceeded(
            f"工作簿解压后共 {_mb(declared)}，超过 {_mb(limits.unzipped_bytes)} 的上限"
        )
    names = _sheet_names(archive, data)
    sheets = [m for m in members if m.filename.startswith("xl/worksheets/")]
    sheets = [m for m in sheets if m.filename.endswith(".xml")]
    if len(sheets) > limits.sheets:
        raise LimitExceeded(f"工作簿有 {len(sheets)} 个工作表，超过 {limits.sheets} 个的上限")
    shapes, inflated = [], 0
    for member in members:
        scanner = None
        if member in sheets:
            scanner = _SheetScanner(names.get(member.filename, member.filename))
        for chunk in _member_chunks(data, member, limits.unzipped_bytes - inflated):
            inflated += len(chunk)
            if scanner is not None:
                scanner.feed(chunk)
        if scanner is not None:
            shape = scanner.finish()
            check_sheet(shape, limits)
            shapes.append(shape)
    return shapes


# ------------------------------------------------------------------- GeoJSON


def check_geojson_bytes(data: bytes, limits: ReadLimits) -> None:
    """Size, and an upper bound of the vertices (every vertex opens a ``[``)."""
    if len(data) > limits.geojson_bytes:
        raise LimitExceeded(
            f"边界文件大小 {_mb(len(data))}，超过 {_mb(limits.geojson_bytes)} 的上限"
        )
    control = control_character_line(data)
    if control is not None:
        raise LimitExceeded(f"边界文件第 {control[0]} 行含有控制字符（0x{control[1]:02X}）")
    if data.count(b"[") > 3 * limits.geojson_vertices + 4 * limits.geojson_features:
        raise LimitExceeded(
            f"边界文件的坐标点明显超过 {limits.geojson_vertices:,} 个的上限；"
            "请先简化多边形（例如在 QGIS 中“简化”）再上传"
        )


def count_vertices(coordinates: object, depth: int = 0) -> int:
    """Positions in a GeoJSON coordinates array (nesting bounded, no recursion blow-up)."""
    if depth > 6 or not isinstance(coordinates, list):
        return 0
    if coordinates and isinstance(coordinates[0], (int, float)):
        return 1
    return sum(count_vertices(c, depth + 1) for c in coordinates)


def check_geojson_shape(features: list, limits: ReadLimits) -> None:
    """Features and exact vertices of a parsed FeatureCollection."""
    if len(features) > limits.geojson_features:
        raise LimitExceeded(
            f"边界文件有 {len(features):,} 个要素，超过 {limits.geojson_features:,} 个的上限"
        )
    vertices = 0
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict):
            vertices += count_vertices(geometry.get("coordinates"))
        if vertices > limits.geojson_vertices:
            raise LimitExceeded(
                f"边界文件的坐标点超过 {limits.geojson_vertices:,} 个的上限；"
                "请先简化多边形（例如在 QGIS 中“简化”）再上传"
            )
