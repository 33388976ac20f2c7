"""Measuring an .xlsx/.xlsm workbook (a zip of XML parts) before any reader opens it.

The zip's members are inflated here, as a stream and never beyond what they declare;
each worksheet's XML is scanned for its declared dimension, rows, highest row and
column used, and cells, keeping only counts.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from etl.limits import ReadLimits
from etl.prescan import LimitExceeded, ReadError, check_cells, megabytes

_CHUNK = 1 << 20
_MAX_TAG = 1 << 20  # one XML tag longer than this is not a spreadsheet's
_XML_PARTS_MAX = 8 << 20  # workbook.xml and its relationships are small


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


def column_letters(number: int) -> str:
    """1-based column number → spreadsheet letters (1 → A, 16384 → XFD)."""
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
            f"{where}用到第 {shape.max_column:,} 列（{column_letters(shape.max_column)} 列），"
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
                f"工作簿中的 {info.filename} 解压后超过其声明的大小或 {megabytes(limit)} 的上限，"
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
            f"工作簿解压后共 {megabytes(declared)}，超过 {megabytes(limits.unzipped_bytes)} 的上限"
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
