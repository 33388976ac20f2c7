"""Fuzzing the upload path: whatever bytes arrive, the loader rejects them cleanly.

Every case goes through the whole public path on a real DuckDB file (a registry, a
month of data and the next month's activities):

1. :func:`etl.reader.read_upload` returns tables or raises :class:`ReadError`;
2. :func:`etl.load.validate_uploads` returns a report (it raises nothing);
3. :func:`etl.load.load_uploads` loads or raises :class:`UploadRejected`.

Nothing else may escape. Every rejection (the ReadError message, the UploadRejected
message and every 原因 of the error report) is a non-empty Chinese text. A rejected
load leaves the database content hash unchanged; validation agrees with the load on
whether the upload is acceptable; an accepted load is undone (newest first) and the
data and rollups are then exactly as before.

Inputs: (a) random bytes named ``.csv``/``.xlsx``, and random cells under real headers;
(b) mutations of the real files of a generated month: byte flips, truncation,
inserted and deleted bytes, swapped lines, cells replaced by random Unicode, header
cells shuffled or dropped, as CSV in several encodings and as XLSX workbooks (whose
zip bytes are mutated too).

The number of cases run per test is printed by the last test (``pytest -s``); each
test's budget is its ``max_examples``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.init_db import init_database
from etl.limits import ReadLimits
from etl.load import UploadRejected, load_paths, load_uploads, undo_upload, validate_uploads
from etl.prescan import LimitExceeded
from etl.reader import ReadError, read_upload
from store.contracts import KINDS
from store.database import connect
from tests import hostile_files as hostile
from tests.etl_support import DATA_TABLES, all_tables, content_hashes

TODAY = date(2026, 10, 31)  # the generated sample ends in October 2026
MONTH = "2026-10"  # fuzzed files: this month's (its activities are loaded already)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
COUNTS: Counter[str] = Counter()  # cases run, per test and per outcome

# Per-test budgets (hypothesis examples; the seed decides which, not how many), about
# 35 s on two quiet cores. FUZZ_SCALE=10 runs ten times as many (a deeper search).
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
BUDGET = {
    "random_bytes": 100 * SCALE,
    "random_cells": 60 * SCALE,
    "csv_mutations": 140 * SCALE,
    "xlsx_mutations": 40 * SCALE,
    "shape_attacks": 60 * SCALE,
}


def fuzz_settings(name: str):
    return settings(
        max_examples=BUDGET[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bases(sample_dir) -> dict[str, list[list[str]]]:
    """The real files fuzzed, as CSV cells (header first): October's, and the
    evaluations of June (the month with the half-year survey)."""
    paths = {p.stem: p for p in sorted((sample_dir / MONTH).glob("*.csv"))}
    paths["evaluation"] = sample_dir / "2026-06" / "evaluation.csv"
    return {
        kind: list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        for kind, path in paths.items()
    }


def db_hashes(con) -> dict[str, str]:
    """:func:`tests.etl_support.content_hashes` in one statement (the same hash of every
    table, several times faster: the per-query overhead dominates on small tables)."""
    tables = all_tables(con)
    sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
        f"FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {t} t)"
        for t in tables
    )
    return {name: f"{n}:{digest}" for name, n, digest in con.execute(sql).fetchall()}


def derived(hashes: dict[str, str]) -> dict[str, str]:
    """The data tables and the rollups (what an undo restores exactly)."""
    return {t: h for t, h in hashes.items() if t in DATA_TABLES or t.startswith("ru_")}


class Harness:
    """The database the cases run against, and the checks every case must pass."""

    def __init__(self, path: Path):
        self.con = connect(path)
        self.before = db_hashes(self.con)
        assert self.before == content_hashes(self.con)

    def check(self, test: str, files: list[tuple[str, bytes]]) -> str:
        """Run one case through the whole path; returns its outcome."""
        COUNTS[test] += 1
        for name, data in files:
            try:
                read_upload(name, data)
            except ReadError as exc:
                assert_chinese(str(exc))
        result = validate_uploads(self.con, files, today=TODAY)
        assert_report(result.errors)
        assert_report(result.warnings)
        try:
            loaded = load_uploads(self.con, files, "fuzz", today=TODAY)
        except UploadRejected as exc:
            COUNTS["outcome: rejected"] += 1
            assert_chinese(str(exc))
            assert exc.result.errors.height > 0
            assert_report(exc.result.errors)
            assert not result.ok, "validation passed an upload the load rejects"
            assert db_hashes(self.con) == self.before, "a rejected load changed the database"
            return "rejected"
        assert result.ok, "the load accepted an upload validation rejects"
        if not loaded.records:  # identical to loaded files: nothing written
            COUNTS["outcome: no-op"] += 1
            assert db_hashes(self.con) == self.before
            return "no-op"
        COUNTS["outcome: loaded and undone"] += 1
        undo_upload(self.con, loaded.records[0].upload_id, "fuzz")
        after = db_hashes(self.con)
        assert derived(after) == derived(self.before), "the undo did not restore the data"
        self.before = after  # the upload history grew
        return "loaded and undone"


@pytest.fixture(scope="module")
def harness(sample_dir, tmp_path_factory):
    """Registry, September, and October's activities (its sign-ins then refer to them)."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    init_database(path, sample=False)
    con = connect(path)
    try:
        load_paths(con, sorted((sample_dir / "2026-09").glob("*.csv")), "setup", today=TODAY)
        load_paths(con, [sample_dir / MONTH / "activity.csv"], "setup", today=TODAY)
    finally:
        con.close()
    h = Harness(path)
    yield h
    h.con.close()


def assert_chinese(text: str) -> None:
    assert text and text.strip(), "empty message"
    assert CHINESE.search(text), f"message not in Chinese: {text!r}"


def assert_report(frame: pl.DataFrame) -> None:
    """Every row of an error/warning report names its file and gives a Chinese reason."""
    assert frame.columns == ["文件", "行号", "列", "值", "原因"]
    for file_name, reason in frame.select("文件", "原因").iter_rows():
        assert file_name, "report row without a file"
        assert_chinese(reason)


# --------------------------------------------------------------- strategies

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
    """:func:`tests.etl_support.xlsx_bytes` with a fixed creation time: its bytes must not
    depend on the clock, as hypothesis replays a case (drawing positions in these bytes)
    and reports the strategy as flaky when they differ."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": datetime(2026, 10, 31)})
    date_format = book.add_format({"num_format": "yyyy/m/d"})
    time_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, time_format)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, value, date_format)
                else:
                    sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


# -------------------------------------------------------------------- tests


@fuzz_settings("random_bytes")
@given(
    st.data(),
    st.one_of(
        st.binary(max_size=4000),
        st.binary(max_size=4000).map(lambda b: b"PK\x03\x04" + b),  # a "zip"
        st.binary(max_size=4000).map(lambda b: b"\xd0\xcf\x11\xe0" + b),  # an "xls"
        st.binary(max_size=2000).map(lambda b: b"\xef\xbb\xbf" + b),  # UTF-8 BOM
        st.binary(max_size=2000).map(lambda b: b"\xff\xfe" + b),  # UTF-16 BOM
    ),
)
def test_random_bytes_are_rejected_cleanly(harness, data, blob):
    name = data.draw(st.sampled_from(CSV_NAMES + XLSX_NAMES), label="name")
    harness.check("random_bytes", [(name, blob)])


@fuzz_settings("random_cells")
@given(st.data())
def test_random_cells_under_real_headers(harness, bases, data):
    """A real header (maybe shuffled) over rows of random cells, in a random encoding."""
    kind = data.draw(st.sampled_from(sorted(bases)), label="kind")
    header = data.draw(st.permutations(bases[kind][0]), label="header")
    body = data.draw(
        st.lists(st.lists(CELL, min_size=0, max_size=len(header) + 2), max_size=12),
        label="rows",
    )
    sep = data.draw(st.sampled_from([",", "\t", ";"]), label="separator")
    text = write_csv([header, *body], sep, data.draw(st.booleans(), label="quoting"))
    blob = encode(text, data.draw(st.sampled_from(ENCODINGS), label="encoding"))
    harness.check("random_cells", [(data.draw(st.sampled_from(CSV_NAMES)), blob)])


@fuzz_settings("csv_mutations")
@given(st.data())
def test_mutated_real_csv_files(harness, bases, data):
    rows = mutate_rows(data, real_slice(data, bases))
    sep = data.draw(st.sampled_from([",", ",", "\t"]), label="separator")
    text = write_csv(rows, sep, data.draw(st.booleans(), label="quoting"))
    blob = encode(text, data.draw(st.sampled_from(ENCODINGS), label="encoding"))
    blob = mutate_bytes(data, blob)
    files = [(data.draw(st.sampled_from(CSV_NAMES), label="name"), blob)]
    if data.draw(st.integers(0, 3), label="companion") == 0:  # a second, clean file
        other = real_slice(data, bases)
        files.append(("附件.csv", write_csv(other, ",", True).encode()))
    harness.check("csv_mutations", files)


@fuzz_settings("xlsx_mutations")
@given(st.data())
def test_mutated_real_xlsx_workbooks(harness, bases, data):
    typed = data.draw(st.booleans(), label="typed cells")
    sheets = {}
    for n in range(data.draw(st.integers(1, 2), label="sheets")):
        rows = mutate_rows(data, real_slice(data, bases, whole=False))  # (writing is slow)
        sheets[f"表{n + 1}"] = [[excel_cell(c) if typed else c for c in r] for r in rows]
    blob = mutate_bytes(data, xlsx_bytes(sheets), most=data.draw(st.sampled_from([0, 0, 2])))
    harness.check("xlsx_mutations", [(data.draw(st.sampled_from(XLSX_NAMES)), blob)])


# Small limits, so that the shape attacks below cross them cheaply.
SMALL = ReadLimits(
    file_mb=8, rows=2000, columns=40, cells=40_000, line_kb=32, field_kb=8, unzipped_mb=4
)


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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
        ref = f"{_letters(column)}{row}"
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


@fuzz_settings("shape_attacks")
@given(st.data())
def test_shape_attacks_are_measured_before_reading(harness, data):
    """Huge declared dimensions, far cells, wide rows, long fields, control characters,
    empty lines: over SMALL's limits the reader refuses before parsing (LimitExceeded);
    under them it reads. The whole path, with the configured limits, never fails
    other than by a clean rejection."""
    name, blob, over = shape_attack(data)
    try:
        read_upload(name, blob, SMALL)
        refused = False
    except LimitExceeded as exc:
        assert_chinese(str(exc))
        refused = True
    except ReadError as exc:
        # A control byte may also make the file undecodable (inside a UTF-8 character)
        # or binary (a NUL among the first bytes): refused either way.
        assert_chinese(str(exc))
        refused = True
    assert refused == over, (name, len(blob), over)
    harness.check("shape_attacks", [(name, blob)])


# Inputs that made the reader raise something other than ReadError (fixed in
# etl/reader.py): found by this file's fuzzing, or (the last) by reading the code path
# it pointed at, which needs a file above the 256 KB encoding-detection prefix.
ACTIVITY_HEADER = ",".join(c.header for c in KINDS["activity"].columns) + "\r\n"
ACTIVITY_ROW = "HD1,2026-09-01,CJ10,CJ10-03,网格长巡查,网格日常巡查,CJ10-P2,CJ10-P0065,65\r\n"
RAGGED_OVER_CR = b"a,b,c,d,e,f,g,h,i,j\r\nx\ry,2\r\n"  # a lone CR in a ragged file
FOUND = {
    # UnicodeDecodeError: a UTF-8 byte-order mark over bytes that are not UTF-8.
    "BOM over non-UTF-8": b"\xef\xbb\xbf\x80",
    # csv.Error ("new-line character seen in unquoted field") counting ragged cells.
    "lone CR in a ragged row": (ACTIVITY_HEADER + ACTIVITY_ROW).encode() + RAGGED_OVER_CR,
    # polars ComputeError from the GB18030 retry: ASCII (English column names) for more
    # than 256 KB, then GBK, then rows Polars and the csv module split differently.
    "GBK tail after 256 KB, malformed": (
        ",".join(c.name for c in KINDS["activity"].columns) + "\r\n"
    ).encode()
    + b"HD1,2026-09-01,CJ10,CJ10-03,x,y,CJ10-P2,CJ10-P0065,65\r\n" * 6000
    + "HD2,中文\r\n".encode("gb18030")
    + b"a,b,c,d,e,f,g,h,i,j\r\na,b,c,d,e,f\rg,h,i,j,k,l\r\n",
}


@pytest.mark.parametrize("case", FOUND)
def test_inputs_found_by_fuzzing(harness, case):
    harness.check("found", [("found.csv", FOUND[case])])


def test_sign_ins_without_a_mode_column_load(harness, bases):
    """Found by fuzzing (fixed in etl/rollups.py): sign-ins without the optional 参与方式
    column passed validation, then the rollup refresh failed the load."""
    header, *rows = bases["attendance"][:40]
    mode = header.index("参与方式")
    drop = [[c for k, c in enumerate(r) if k != mode] for r in (header, *rows)]
    blob = write_csv(drop, ",", True).encode()
    assert harness.check("found", [("签到.csv", blob)]) == "loaded and undone"


def test_zz_fuzz_case_counts(capsys):
    """Report how many cases ran (pytest -s shows it); runs last in this file."""
    ran = {name: COUNTS[name] for name in BUDGET}
    outcomes = {k.removeprefix("outcome: "): v for k, v in COUNTS.items() if k[:8] == "outcome:"}
    with capsys.disabled():
        print(
            f"\nfuzz cases run: {sum(ran.values())} (max_examples {BUDGET}, "
            f"total {sum(BUDGET.values())}); ran {ran}; plus {COUNTS['found']} regression "
            f"inputs; outcomes of all {sum(outcomes.values())}: {outcomes}"
        )
    # Hypothesis may stop early when a strategy has fewer distinct inputs; every test
    # that ran must have run most of its budget.
    for name, count in ran.items():
        assert count == 0 or count >= BUDGET[name] // 2, (name, count)
