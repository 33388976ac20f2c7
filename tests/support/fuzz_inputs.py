"""The inputs the upload path is fuzzed with (:mod:`tests.test_fuzz_readers`).

Random cells under real headers; mutations of the real files of a generated month
(byte flips, truncation, inserted and deleted bytes, swapped lines, cells replaced by
random Unicode, header cells shuffled or dropped) as CSV in several encodings and as
XLSX workbooks; and shape attacks (huge declared dimensions, far cells, wide rows,
long fields, control characters, empty lines) against small reading limits.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from hypothesis import strategies as st

from etl.limits import ReadLimits
from etl.prescan.workbook import column_letters
from tests.support import hostile_files as hostile
from tests.support.loading import xlsx_bytes as workbook_bytes

MONTH = "2026-10"  # fuzzed files: this month's (its activities are loaded already)

# Text that office files hold, and worse: CJK, full-width forms, separators, quotes,
# newlines, control characters, astral-plane characters.
ALPHABET = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(list(',;\t"\r\n \u3000\ufeff\u00a0０１２－／：年月日是否')),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
)
CELL = st.one_of(
    st.text(ALPHABET, max_size=20),
    st.sampled_from(["", " ", "NaN", "inf", "-0", "1e309", "99999", "2026-02-30", "=1+1"]),
    st.from_regex(r"-?\d{1,6}(\.\d{1,3})?", fullmatch=True),
    st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2200, 1, 1)).map(str),
)
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16")
CSV_NAMES = ("随机.csv", "upload.CSV", f"{MONTH}/活动.csv")
XLSX_NAMES = ("随机.xlsx", "upload.XLSX", f"{MONTH}/台账.xlsx")


def encode(text: str, encoding: str) -> bytes:
    # GB18030 encodes every code point; a lone surrogate never gets here (no Cs).
    return text.encode(encoding)


def write_csv(rows: list[list[str]], sep: str, quoting: bool) -> str:
    """CSV text of ``rows``; unquoted, a cell with a separator makes the row ragged."""
    if not quoting:
        return "".join(sep.join(r) + "\r\n" for r in rows)
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def mutate_rows(data: st.DataObject, rows: list[list[str]]) -> list[list[str]]:
    """Structural mutations of a table's cells (header included), 0 to 4 of them."""
    rows = [list(r) for r in rows]
    for _ in range(data.draw(st.integers(0, 4), label="row mutations")):
        op = data.draw(
            st.sampled_from(
                [
                    "swap lines",
                    "replace cell",
                    "shuffle header",
                    "drop header cell",
                    "drop column",
                    "duplicate row",
                    "blank row",
                    "title row",
                ]
            ),
            label="row op",
        )
        if not rows:
            break
        i = data.draw(st.integers(0, len(rows) - 1), label="row")
        j = data.draw(st.integers(0, len(rows) - 1), label="other row")
        width = max(len(r) for r in rows) or 1
        col = data.draw(st.integers(0, width - 1), label="column")
        if op == "swap lines":
            rows[i], rows[j] = rows[j], rows[i]
        elif op == "replace cell":
            if col < len(rows[i]):
                rows[i][col] = data.draw(CELL, label="cell")
        elif op == "shuffle header":
            rows[0] = data.draw(st.permutations(rows[0]), label="header")
        elif op == "drop header cell":
            if rows[0]:
                del rows[0][col % len(rows[0])]
        elif op == "drop column":
            rows = [[c for k, c in enumerate(r) if k != col] for r in rows]
        elif op == "duplicate row":
            rows.insert(j, list(rows[i]))
        elif op == "blank row":
            rows.insert(i, [""] * data.draw(st.integers(0, width), label="blank width"))
        elif op == "title row":
            rows.insert(0, [data.draw(CELL, label="title")])
    return rows


def mutate_bytes(data: st.DataObject, blob: bytes, most: int = 3) -> bytes:
    """Byte-level mutations: flips, truncation, inserted and deleted bytes."""
    for _ in range(data.draw(st.integers(0, most), label="byte mutations")):
        op = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]), label="op")
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)), label="at")
        if op == "flip" and blob:
            mask = data.draw(st.integers(1, 255), label="mask")
            blob = blob[:at] + bytes([blob[at] ^ mask]) + blob[at + 1 :]
        elif op == "truncate":
            blob = blob[:at]
        elif op == "insert":
            blob = blob[:at] + data.draw(st.binary(min_size=1, max_size=16)) + blob[at:]
        elif op == "delete":
            blob = blob[:at] + blob[at + data.draw(st.integers(1, 64), label="length") :]
    return blob


def real_slice(
    data: st.DataObject, bases: dict[str, list[list[str]]], whole: bool = True
) -> list[list[str]]:
    """The header and a run of rows of one real file (small files sometimes whole)."""
    kind = data.draw(st.sampled_from(sorted(bases)), label="file")
    rows = bases[kind]
    if whole and len(rows) < 600 and data.draw(st.booleans(), label="whole file"):
        return rows
    start = data.draw(st.integers(1, len(rows) - 1), label="first row")
    size = data.draw(st.integers(0, 40), label="rows")
    return [rows[0], *rows[start : start + size]]


TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def excel_cell(text: str) -> object:
    """A cell as Excel would store it: numbers, dates and times typed, text as text."""
    try:
        if TIMESTAMP.match(text):
            return datetime.fromisoformat(text)
        if DAY.match(text):
            return date.fromisoformat(text)
    except ValueError:  # 0000-00-00: text, as Excel keeps what is no date
        return text
    if NUMBER.match(text) and len(text) < 15:
        return float(text) if "." in text else int(text)
    return text


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with a fixed creation time: its bytes must not depend on the clock, as
    hypothesis replays a case (drawing positions in these bytes) and reports the
    strategy as flaky when they differ."""
    return workbook_bytes(sheets, created=datetime(2026, 10, 31))


# Small limits, so that the shape attacks below cross them cheaply.
SMALL = ReadLimits(
    file_mb=8, rows=2000, columns=40, cells=40_000, line_kb=32, field_kb=8, unzipped_mb=4
)


def shape_attack(data: st.DataObject) -> tuple[str, bytes, bool]:
    """(file name, bytes, whether the shape is over SMALL's limits) of one attack."""
    kind = data.draw(
        st.sampled_from(
            ["declared", "far cell", "unreferenced", "wide", "field", "control", "lines"]
        ),
        label="attack",
    )
    head = [(1, hostile.header_cells(1)), (2, hostile.data_cells(2))]
    if kind in ("declared", "far cell"):
        row = data.draw(st.integers(1 if kind == "declared" else 3, 2**21), label="row")
        column = data.draw(st.integers(1, 20_000), label="column")
        ref = f"{column_letters(column)}{row}"
        if kind == "declared":
            sheet = hostile.sheet_xml(head, f"A1:{ref}")
        else:  # a cell below the data: the used range reaches it
            sheet = hostile.sheet_xml([*head, (row, [(ref, "x")])], "A1:E2")
            column = max(column, 5)
        over = row > SMALL.rows or column > SMALL.columns or row * column > SMALL.cells
        return "attack.xlsx", hostile.workbook(sheet), over
    if kind == "unreferenced":
        cells = data.draw(st.integers(1, 5000), label="cells")
        sheet = hostile.sheet_xml([(1, hostile.header_cells(1)), (2, [(None, "x")] * cells)])
        return "attack.xlsx", hostile.workbook(sheet), cells > SMALL.columns
    if kind == "wide":
        separators = data.draw(st.integers(0, 50_000), label="separators")
        line = "," * separators
        over = separators + 1 > SMALL.columns or len(line) > SMALL.line_bytes
        lines = [hostile.ATTENDANCE_HEADER, hostile.ATTENDANCE_ROW, line]
        return "attack.csv", hostile.csv_text(lines), over
    if kind == "field":
        size = data.draw(st.integers(1, 64 * 1024), label="field bytes")
        row = hostile.ATTENDANCE_ROW.replace("现场", "y" * size)
        line_bytes = len(row.encode())
        over = size > SMALL.field_bytes or line_bytes > SMALL.line_bytes
        return "attack.csv", hostile.csv_text([hostile.ATTENDANCE_HEADER, row]), over
    if kind == "control":
        byte = data.draw(st.sampled_from([b for b in range(32) if b not in (9, 10, 13)]))
        blob = bytearray(hostile.csv_text([hostile.ATTENDANCE_HEADER, hostile.ATTENDANCE_ROW] * 3))
        at = data.draw(st.integers(len(hostile.ATTENDANCE_HEADER) + 1, len(blob) - 1), label="at")
        blob[at:at] = bytes([byte])
        return "attack.csv", bytes(blob), True
    lines = data.draw(st.integers(0, 10_000), label="empty lines")
    blob = (hostile.ATTENDANCE_HEADER + "\n").encode() + b"\n" * lines
    return "attack.csv", blob, lines + 2 > SMALL.rows + 1
