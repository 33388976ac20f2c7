"""Quirky office files (GBK with title rows, BOMs and trailing empties, English aliases
in any order with stray spaces, office date spellings and Excel serials, full-width
digits, a workbook of several sheets) load exactly the values of the canonical files."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from store.contracts import KINDS
from tests.support.loading import (
    FULL_WIDTH,
    copy_db,
    data_hashes,
    last_batch,
    load,
    map_column,
    month_files,
    read_text,
    to_csv_bytes,
    undo,
    xlsx_bytes,
)

LAST = "2026-10"  # the sample's newest month: its batch is undone, then loaded as variants
LABELS = {k.name: k.label for k in KINDS.values()}


@pytest.fixture
def db(sample_db, tmp_path):
    return copy_db(sample_db, tmp_path / "g.duckdb")


def frames(sample_dir) -> dict[str, pl.DataFrame]:
    return {p.stem: read_text(p) for p in month_files(sample_dir, LAST)}


def excel_serial(text: str) -> str:
    return str((date.fromisoformat(text) - date(1899, 12, 30)).days)


def spell_dates(text: str) -> str:
    """One of four office spellings of a date, chosen by the day (all four occur)."""
    d = date.fromisoformat(text)
    return [
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
        excel_serial(text),
    ][d.day % 4]


def spell_timestamps(text: str) -> str:
    t = datetime.fromisoformat(text)
    return [
        f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}",
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        f"{t.year}年{t.month}月{t.day}日 {t:%H:%M:%S}",
    ][t.day % 3]


def variant_gbk_title_rows(f):
    return [
        (f"{k}.csv", to_csv_bytes(v, "gbk", title=f"漕泾镇2026年10月{LABELS[k]}"))
        for k, v in f.items()
    ]


def variant_bom_trailing_empties(f):
    out = []
    for k, v in f.items():
        lines = v.write_csv(null_value="").splitlines()
        text = "\r\n".join(line + ",," for line in lines) + "\r\n" + ",,,,,\r\n" * 3
        out.append((f"{k}.csv", b"\xef\xbb\xbf" + text.encode()))
    return out


def variant_aliases_order_spaces(f):
    out = []
    for k, v in f.items():
        kind = KINDS[k]
        english = {c.header: c.name for c in kind.columns[::2]}  # every other column
        v = v.select(v.columns[::-1]).rename(english)
        v = v.with_columns(
            pl.col(c).map_elements(lambda s: f" {s}\u3000", return_dtype=pl.String)
            for c in v.columns
        )
        out.append((f"{k}.csv", to_csv_bytes(v)))
    return out


def variant_date_spellings(f):
    out = []
    for k, v in f.items():
        for c in KINDS[k].columns:
            if c.dtype == "date":
                v = map_column(v, c.header, spell_dates)
            elif c.dtype == "timestamp":
                v = map_column(v, c.header, spell_timestamps)
        out.append((f"{k}.csv", to_csv_bytes(v)))
    return out


def variant_full_width(f):
    out = []
    for k, v in f.items():
        for c in KINDS[k].columns:
            if c.name.endswith("_id") or c.dtype in ("int", "float", "timestamp", "date"):
                v = map_column(v, c.header, lambda s: s.translate(FULL_WIDTH))
        out.append((f"{k}.csv", to_csv_bytes(v)))
    return out


def variant_workbook(f):
    """One workbook, a sheet per kind, real date/time/number cells, title rows, notes."""
    sheets: dict[str, list[list]] = {"说明": [["各村居每月10日前上传"]]}
    for k, v in f.items():
        kind = KINDS[k]
        rows: list[list] = [[f"漕泾镇2026年10月{kind.label}"], v.columns]
        for record in v.iter_rows():
            cells = []
            for c, value in zip(kind.columns, record, strict=True):
                if value is None:
                    cells.append(None)
                elif c.dtype == "date":
                    cells.append(date.fromisoformat(value))
                elif c.dtype == "timestamp":
                    cells.append(datetime.fromisoformat(value))
                elif c.dtype in ("int", "float"):
                    cells.append(float(value))
                else:
                    cells.append(value)
            rows.append(cells)
        sheets[kind.label] = rows
    return [("2026年10月台账.xlsx", xlsx_bytes(sheets))]


VARIANTS = {
    "gbk+title": variant_gbk_title_rows,
    "bom+trailing-empties": variant_bom_trailing_empties,
    "aliases+order+spaces": variant_aliases_order_spaces,
    "date-spellings+serials": variant_date_spellings,
    "full-width": variant_full_width,
    "xlsx": variant_workbook,
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_quirky_files_load_the_same_values_as_canonical_ones(variant, db, sample_db, sample_dir):
    expected = data_hashes(sample_db)
    undo(db, last_batch(db))
    assert data_hashes(db) != expected
    month = frames(sample_dir)
    result = load(db, VARIANTS[variant](month))
    assert result.validation.warnings.is_empty(), result.validation.warnings
    written = sum(r.rows_inserted + r.rows_updated for r in result.records)
    assert written == sum(f.height for f in month.values())
    assert data_hashes(db) == expected
