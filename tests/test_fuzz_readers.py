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

Inputs (:mod:`tests.fuzz_inputs`): (a) random bytes named ``.csv``/``.xlsx``, and
random cells under real headers; (b) mutations of the real files of a generated month:
byte flips, truncation, inserted and deleted bytes, swapped lines, cells replaced by
random Unicode, header cells shuffled or dropped, as CSV in several encodings and as
XLSX workbooks (whose zip bytes are mutated too); (c) shape attacks.

The number of cases run per test is printed by the last test (``pytest -s``); each
test's budget is its ``max_examples``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.init_db import init_database
from etl.load import UploadRejected, load_paths, load_uploads, undo_upload, validate_uploads
from etl.prescan import LimitExceeded, ReadError
from etl.reader import read_upload
from store.contracts import KINDS
from store.database import connect
from tests.support.fuzz_inputs import (
    CELL,
    CSV_NAMES,
    ENCODINGS,
    MONTH,
    SMALL,
    XLSX_NAMES,
    encode,
    excel_cell,
    mutate_bytes,
    mutate_rows,
    real_slice,
    shape_attack,
    write_csv,
    xlsx_bytes,
)
from tests.support.loading import DATA_TABLES, all_tables, content_hashes

pytestmark = pytest.mark.fuzz

TODAY = date(2026, 10, 31)  # the generated sample ends in October 2026
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
    """:func:`tests.support.loading.content_hashes` in one statement (the same hash of every
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
