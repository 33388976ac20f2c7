"""Every tolerated spelling of a date and a time (docs/loading.md) stores the same values.

The sample's last month is undone, and its activities, sign-ins and reports are loaded
again: once as the generator writes them (times cut to the minute), once per spelling
with every 活动日期 and timestamp respelled, once with all spellings mixed row by row (CSV
and workbook), and once with bad cells among good ones. The stored rows must be the
same; a bad cell is reported in Chinese with its Excel row and column, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from etl.load import UploadRejected
from store.contracts import KINDS
from tests.support.loading import (
    FULL_WIDTH,
    copy_db,
    data_hashes,
    last_batch,
    load,
    map_column,
    read_text,
    to_csv_bytes,
    undo,
    xlsx_bytes,
)

MONTH = "2026-10"
EPOCH = datetime(1899, 12, 30)


def serial(t: datetime) -> str:
    """The number Excel shows for a time cell formatted as a number."""
    return repr((t - EPOCH).total_seconds() / 86400)


# name → (a date as spelled, a time of day to the minute as spelled)
SPELLINGS: dict[str, tuple[Callable[[date], str], Callable[[datetime], str]]] = {
    "iso seconds": (date.isoformat, lambda t: t.strftime("%Y-%m-%d %H:%M:%S")),
    "iso minutes (Excel)": (date.isoformat, lambda t: t.strftime("%Y-%m-%d %H:%M")),
    "iso T": (lambda d: d.strftime("%Y%m%d"), lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")),
    "slashes, not padded": (
        lambda d: f"{d.year}/{d.month}/{d.day}",
        lambda t: f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}",
    ),
    "dots": (lambda d: d.strftime("%Y.%m.%d"), lambda t: t.strftime("%Y.%m.%d %H:%M")),
    "年月日 时分": (
        lambda d: f"{d.year}年{d.month}月{d.day}日",
        lambda t: f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute:02d}分",
    ),
    "年月日 h:mm": (
        lambda d: f"{d.year}年{d.month}月{d.day}日",
        lambda t: f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}",
    ),
    "年月号 点分秒": (
        lambda d: f"{d.year}年{d.month}月{d.day}号",
        lambda t: f"{t.year}年{t.month}月{t.day}号{t.hour}点{t.minute}分0秒",
    ),
    "full-width": (
        lambda d: d.isoformat().translate(FULL_WIDTH),
        lambda t: t.strftime("%Y-%m-%d %H:%M").translate(FULL_WIDTH),
    ),
    "fractions of seconds": (date.isoformat, lambda t: t.strftime("%Y-%m-%d %H:%M:%S.000")),
    "Excel serials": (
        lambda d: str((d - EPOCH.date()).days),
        serial,
    ),
}


def month_frames(sample_dir: Path) -> dict[str, pl.DataFrame]:
    """The month's activities, sign-ins and reports as text, times cut to the minute
    (the minute-only spellings cannot say more)."""
    frames = {}
    for kind in ("activity", "attendance", "report"):
        frame = read_text(sample_dir / MONTH / f"{kind}.csv")
        for c in KINDS[kind].columns:
            if c.dtype == "timestamp":
                frame = map_column(frame, c.header, lambda s: s[:16] + ":00")
        frames[kind] = frame
    return frames


def respelled(frames: dict[str, pl.DataFrame], spell: Callable[[int], tuple]) -> dict:
    """The frames with every date and timestamp cell of row i spelled by ``spell(i)``."""
    out = {}
    for kind, frame in frames.items():
        columns = {}
        for c in KINDS[kind].columns:
            if c.dtype not in ("date", "timestamp"):
                continue
            which = 0 if c.dtype == "date" else 1
            columns[c.header] = [
                None
                if text is None
                else spell(i)[which](
                    date.fromisoformat(text) if which == 0 else datetime.fromisoformat(text)
                )
                for i, text in enumerate(frame[c.header].to_list())
            ]
        out[kind] = frame.with_columns(pl.Series(h, v, dtype=pl.String) for h, v in columns.items())
    return out


def as_csv(frames: dict[str, pl.DataFrame]) -> list[tuple[str, bytes]]:
    return [(f"{kind}.csv", to_csv_bytes(frame)) for kind, frame in frames.items()]


@pytest.fixture(scope="module")
def month_undone(sample_db, tmp_path_factory) -> Path:
    """The sample without its last month (reports refer to earlier months' activities)."""
    db = copy_db(sample_db, tmp_path_factory.mktemp("undone") / "u.duckdb")
    undo(db, last_batch(db))
    return db


@pytest.fixture(scope="module")
def frames(sample_dir) -> dict[str, pl.DataFrame]:
    return month_frames(sample_dir)


@pytest.fixture(scope="module")
def canonical(month_undone, frames, tmp_path_factory) -> dict[str, str]:
    """Data hashes after loading the month as the generator writes it."""
    db = copy_db(month_undone, tmp_path_factory.mktemp("canonical") / "c.duckdb")
    load(db, as_csv(frames))
    return data_hashes(db)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SPELLINGS))
def test_every_spelling_stores_the_same_values(name, month_undone, frames, canonical, tmp_path):
    db = copy_db(month_undone, tmp_path / "s.duckdb")
    spelled = respelled(frames, lambda i: SPELLINGS[name])
    some = next(v for v in spelled["attendance"]["签到时间"] if v is not None)
    assert some != frames["attendance"]["签到时间"].drop_nulls()[0] or name == "iso seconds"
    load(db, as_csv(spelled))
    assert data_hashes(db) == canonical


@pytest.mark.slow
def test_mixed_spellings_in_one_csv_store_the_same_values(
    month_undone, frames, canonical, tmp_path
):
    db = copy_db(month_undone, tmp_path / "m.duckdb")
    cycle = list(SPELLINGS.values())
    load(db, as_csv(respelled(frames, lambda i: cycle[i % len(cycle)])))
    assert data_hashes(db) == canonical


@pytest.mark.slow
def test_mixed_cells_in_a_workbook_store_the_same_values(month_undone, frames, canonical, tmp_path):
    """Time cells, numbers shown as serials and text in one sheet, as offices mix them."""
    db = copy_db(month_undone, tmp_path / "x.duckdb")
    sheets = {}
    for kind, frame in frames.items():
        rows: list[list] = [frame.columns]
        for i, record in enumerate(frame.iter_rows()):
            cells: list[object] = []
            for c, text in zip(KINDS[kind].columns, record, strict=True):
                if text is None or c.dtype not in ("date", "timestamp"):
                    cells.append(text)
                    continue
                value = (
                    date.fromisoformat(text) if c.dtype == "date" else datetime.fromisoformat(text)
                )
                t = (
                    value
                    if c.dtype == "timestamp"
                    else datetime(value.year, value.month, value.day)
                )
                number = (t - EPOCH).total_seconds() / 86400
                spelled = SPELLINGS["slashes, not padded"][c.dtype == "timestamp"](value)
                cells.append([value, number, spelled][i % 3])
            rows.append(cells)
        sheets[KINDS[kind].label] = rows
    load(db, [("2026年10月台账.xlsx", xlsx_bytes(sheets))])
    assert data_hashes(db) == canonical


def test_a_bad_time_among_good_spellings_is_reported_with_row_and_column(
    month_undone, frames, tmp_path
):
    db = copy_db(month_undone, tmp_path / "b.duckdb")
    before = data_hashes(db)
    cycle = list(SPELLINGS.values())
    spelled = respelled(frames, lambda i: cycle[i % len(cycle)])
    # Excel rows: the header is row 1, so frame row i is Excel row i + 2.
    bad = {3: "2026年13月5日 9时05分", 9: "2026/10/5", 14: "2026-10-05 25:00"}
    times = spelled["attendance"]["签到时间"].to_list()
    for row, text in bad.items():
        times[row - 2] = text
    spelled["attendance"] = spelled["attendance"].with_columns(pl.Series("签到时间", times))
    with pytest.raises(UploadRejected) as rejected:
        load(db, as_csv(spelled))
    errors = rejected.value.result.errors
    assert errors.columns == ["文件", "行号", "列", "值", "原因"]
    assert errors.select("行号", "列", "值").rows() == [
        (row, "签到时间", text) for row, text in bad.items()
    ]
    reasons = errors["原因"].to_list()
    assert reasons[0] == reasons[2] and reasons[0].startswith("无法识别的时间")
    assert reasons[1].startswith("只有日期，缺少时刻")
    assert data_hashes(db) == before
