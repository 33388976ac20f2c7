"""Hostile files built byte by byte in the tests (nothing downloaded).

Each builder returns the bytes an attacker would upload. The workbook builder writes
the minimal set of XML parts an .xlsx needs, so that the shape of a sheet (declared
dimension, cell references, rows) is exactly what the test says; a normal workbook
from the same builder reads fine (tests check that too, so the builder is proven).
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile

ATTENDANCE_HEADER = "活动编号,人员编号,出勤状态,参与方式,签到时间"
ATTENDANCE_ROW = "HD-X-1,CJ03-P0001,出席,现场,2026-10-05 09:00"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def _cell(ref: str | None, value: str) -> str:
    where = f' r="{ref}"' if ref else ""
    return f'<c{where} t="inlineStr"><is><t>{value}</t></is></c>'


def sheet_xml(rows: list[tuple[int | None, list[tuple[str | None, str]]]], dimension=None) -> str:
    """A worksheet: rows of (row number or None, [(cell ref or None, text), …])."""
    parts = []
    for number, cells in rows:
        where = f' r="{number}"' if number else ""
        parts.append(f"<row{where}>" + "".join(_cell(r, v) for r, v in cells) + "</row>")
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{''.join(parts)}</sheetData></worksheet>"
    )


def workbook(sheet: str, name: str = "签到") -> bytes:
    """An .xlsx holding one worksheet whose XML is ``sheet``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def header_cells(row: int = 1) -> list[tuple[str, str]]:
    return [
        (f"{col}{row}", h) for col, h in zip("ABCDE", ATTENDANCE_HEADER.split(","), strict=True)
    ]


def data_cells(row: int) -> list[tuple[str, str]]:
    return [(f"{col}{row}", v) for col, v in zip("ABCDE", ATTENDANCE_ROW.split(","), strict=True)]


def normal_workbook() -> bytes:
    """A small, valid sign-in workbook (the builder's proof)."""
    return workbook(sheet_xml([(1, header_cells(1)), (2, data_cells(2))], "A1:E2"))


def huge_dimension_workbook() -> bytes:
    """The 1.6 KB workbook that asked the reader for hundreds of GiB: the sheet declares
    and uses a cell near the last one a sheet can hold."""
    rows = [(1, header_cells(1)), (2, data_cells(2)), (1048575, [("XFC1048575", "x")])]
    return workbook(sheet_xml(rows, "A1:XFC1048575"))


def far_cell_workbook() -> bytes:
    """A small declared dimension, but a cell far down and right (the used range)."""
    rows = [(1, header_cells(1)), (2, data_cells(2)), (900000, [("ZZ900000", "x")])]
    return workbook(sheet_xml(rows, "A1:E2"))


def wide_row_without_references(cells: int = 20_000) -> bytes:
    """Cells without r="…" (each takes the next column): one very wide row."""
    rows = [(1, header_cells(1)), (2, [(None, "x")] * cells)]
    return workbook(sheet_xml(rows))


def zip_bomb_workbook(inflated_mb: int = 64) -> bytes:
    """A workbook whose sheet inflates far beyond the size its zip entry declares.

    Written honestly first, then the sheet's declared size (local header and central
    directory) is patched down to 1 KB: readers that trust the stream inflate it all.
    """
    padding = "<!--" + "x" * (inflated_mb * 2**20) + "-->"
    sheet = sheet_xml([(1, header_cells(1)), (2, data_cells(2))], "A1:E2")
    sheet = sheet.replace("<sheetData>", padding + "<sheetData>")
    data = bytearray(workbook(sheet))
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            start = at + 4
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", data, at + size_at, 1024)
    return bytes(data)


def csv_text(lines: list[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def wide_line_csv(separators: int = 5_000_000) -> bytes:
    """One row of millions of separators (5 MB): a schema of millions of columns."""
    return csv_text([ATTENDANCE_HEADER, ATTENDANCE_ROW, "," * separators])


def many_columns_csv(columns: int = 300_000) -> bytes:
    """Under the line-length limit, but hundreds of thousands of fields on one line."""
    return csv_text([ATTENDANCE_HEADER, ATTENDANCE_ROW, "," * (columns - 1)])


def long_field_ragged_csv(kb: int = 200) -> bytes:
    """A ragged CSV with one field over 128 KB (Python's csv module's own limit)."""
    return csv_text([ATTENDANCE_HEADER, ATTENDANCE_ROW + ",extra," + "y" * (kb * 1024)])


def control_character_csv(byte: bytes = b"\x00", after: int = 8192) -> bytes:
    """A valid sign-in CSV with a control character after the first ``after`` bytes."""
    rows = [ATTENDANCE_HEADER] + [ATTENDANCE_ROW.replace("HD-X-1", f"HD-X-{i}") for i in range(400)]
    data = bytearray(csv_text(rows))
    at = data.index(b"\n", after) - 3  # inside a cell, not at a line end
    data[at:at] = byte
    return bytes(data)


def many_lines_csv(lines: int = 2_000_000) -> bytes:
    """Millions of empty lines: every one a row of nulls to a reader."""
    return (ATTENDANCE_HEADER + "\n").encode() + b"\n" * lines


def polygon_geojson(vertices: int, unit_id: str = "CJ01") -> bytes:
    """A FeatureCollection with one village polygon of ``vertices`` vertices."""
    turn = 2 * math.pi / (vertices - 1)  # points on a circle: a valid, simple ring
    ring = [
        [121.4 + 0.01 * math.cos(i * turn), 30.79 + 0.01 * math.sin(i * turn)]
        for i in range(vertices - 1)
    ]
    ring.append(ring[0])
    feature = {
        "type": "Feature",
        "properties": {"level": "village", "unit_id": unit_id, "name": "测试"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def deeply_nested_geojson(depth: int = 100_000) -> bytes:
    """Nesting deep enough to exhaust a recursive JSON parser."""
    return b'{"type": "FeatureCollection", "features": ' + b"[" * depth + b"]" * depth + b"}"
