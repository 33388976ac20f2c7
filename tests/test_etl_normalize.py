"""The cell normalisers: every tolerated spelling reads back the value it spells.

Property-based (hypothesis) over dates, times and numbers, plus the cases that must
stay unreadable (so that the validator reports them instead of guessing).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.normalize import (
    EXCEL_EPOCH,
    normalize_codes,
    normalize_enum,
    normalize_header,
    parse_bools,
    parse_dates,
    parse_floats,
    parse_ints,
    parse_periods,
    parse_timestamps,
)
from tests.support.loading import FULL_WIDTH

DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))


def one(parser, text: str):
    return parser(pl.Series("c", [text], dtype=pl.String))[0]


def date_spellings(d: date) -> list[str]:
    serial = (d - EXCEL_EPOCH).days
    return [
        d.isoformat(),
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.year}{d.month:02d}{d.day:02d}",
        str(serial),
        f"{serial}.0",
        f"{d.isoformat()} 00:00:00",  # a date cell read from a workbook
        d.isoformat().translate(FULL_WIDTH),
        f"{d.year}年{d.month}月{d.day}日".translate(FULL_WIDTH),
    ]


@given(DATES)
@settings(max_examples=150, deadline=None)
def test_every_date_spelling_reads_back_the_date(d):
    spellings = date_spellings(d)
    parsed = parse_dates(pl.Series("c", spellings, dtype=pl.String)).to_list()
    assert parsed == [d] * len(spellings), list(zip(spellings, parsed, strict=True))


@given(TIMES)
@settings(max_examples=150, deadline=None)
def test_every_timestamp_spelling_reads_back_the_time(t):
    t = t.replace(microsecond=0)
    minute = t.replace(second=0)
    cases = {
        t.strftime("%Y-%m-%d %H:%M:%S"): t,
        t.strftime("%Y-%m-%dT%H:%M:%S"): t,
        f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}": t,
        f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}": minute,
        t.strftime("%Y-%m-%d %H:%M"): minute,
        t.strftime("%Y.%m.%d %H:%M"): minute,
        f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}": minute,
        f"{t.year}年{t.month}月{t.day}日{t.hour}时{t.minute}分": minute,
        t.strftime("%Y-%m-%d %H:%M:%S").translate(FULL_WIDTH): t,
    }
    texts = list(cases)
    parsed = parse_timestamps(pl.Series("c", texts, dtype=pl.String)).to_list()
    assert parsed == list(cases.values()), list(zip(texts, parsed, strict=True))


@given(TIMES)
@settings(max_examples=100, deadline=None)
def test_excel_serial_timestamps_are_exact_to_the_second(t):
    t = t.replace(microsecond=0)
    days = (t - datetime(1899, 12, 30)).total_seconds() / 86400
    if days % 1 == 0:  # a whole serial is a bare date, not a time
        t += timedelta(seconds=1)
        days = (t - datetime(1899, 12, 30)).total_seconds() / 86400
    assert one(parse_timestamps, f"{days:.10f}") == t


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_integers_read_back_in_every_spelling(n):
    texts = [str(n), f"{n}.0", f"{n:,}", str(n).translate(FULL_WIDTH)]
    assert parse_ints(pl.Series("c", texts, dtype=pl.String)).to_list() == [n] * len(texts)


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False))
def test_decimals_read_back(x):
    texts = [str(x), f"{x:,}", str(x).translate(FULL_WIDTH)]
    parsed = parse_floats(pl.Series("c", texts, dtype=pl.String)).to_list()
    assert parsed == [float(x)] * len(texts)


@given(st.integers(min_value=-1000, max_value=1000), st.integers(min_value=1, max_value=9))
def test_fractions_are_not_integers(whole, tenth):
    assert one(parse_ints, f"{whole}.{tenth}") is None


def test_unreadable_values_stay_null():
    dates = ["2026-02-30", "2026-13-01", "明天", "10/5", "123", "2026-10"]
    assert parse_dates(pl.Series("c", dates)).null_count() == len(dates)
    stamps = ["2026-10-05", "2026-10-05 25:00", "14:30", "46300", "2026-10-05 14"]
    assert parse_timestamps(pl.Series("c", stamps)).null_count() == len(stamps)
    assert parse_ints(pl.Series("c", ["九十", "90分钟", "1e3x"])).null_count() == 3
    assert parse_bools(pl.Series("c", ["也许", "x"])).null_count() == 2


def test_flags_periods_codes_and_enums():
    assert parse_bools(pl.Series("c", ["是", "否", "Y", "n", "TRUE", "0", "√"])).to_list() == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    periods = ["2026H1", "2026h2", "2026年上半年", "2026下半年", "２０２６Ｈ１", "2026-H2"]
    assert parse_periods(pl.Series("c", periods)).to_list() == [
        "2026H1",
        "2026H2",
        "2026H1",
        "2026H2",
        "2026H1",
        "2026H2",
    ]
    assert parse_periods(pl.Series("c", ["2026H3", "上半年"])).null_count() == 2
    codes = pl.Series("c", ["ＣＪ０１－０３", "CJ01—03", "CJ01-03"])
    assert normalize_codes(codes).to_list() == ["CJ01-03"] * 3
    enum = normalize_enum(pl.Series("c", ["出 席", "请假", "到场"]), ("出席", "请假", "缺席"))
    assert enum.to_list() == ["出席", "请假", "到场"]  # unknown values kept as written


def test_headers_normalise_to_the_contract_spelling():
    assert normalize_header(" 活动编号* ") == "活动编号"
    assert normalize_header("出勤状态（必填）") == "出勤状态"
    assert normalize_header("Activity_ID") == "activity_id"
    assert normalize_header("\ufeff事项编号") == "事项编号"
    assert normalize_header("ａｃｔｉｖｉｔｙ_ｉｄ") == "activity_id"


def test_serial_dates_match_excel():
    # Excel shows serial 46300 as 2026-10-05 (1900 date system).
    assert one(parse_dates, "46300") == date(2026, 10, 5)
    assert one(parse_timestamps, "46300.5") == datetime(2026, 10, 5, 12, 0)
    assert EXCEL_EPOCH + timedelta(days=46300) == date(2026, 10, 5)


def test_nan_and_infinity_are_not_numbers():
    # Polars' own cast reads these words as floats; a score of NaN would pass every range
    # check (comparisons with NaN are false), so they are unreadable like any other word.
    words = ["nan", "NaN", "inf", "-inf", "Infinity", "ｎａｎ"]
    assert parse_floats(pl.Series("c", words)).null_count() == len(words)
    assert parse_ints(pl.Series("c", words)).null_count() == len(words)
    assert parse_floats(pl.Series("c", ["1e3", "-0.5"])).to_list() == [1000.0, -0.5]
