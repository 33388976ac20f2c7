"""The cell normalisers: every tolerated spelling reads back the value it spells.

Property-based (hypothesis) over dates, times and numbers, plus the cases that must
stay unreadable (so that the validator reports them instead of guessing).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.normalize import (
    EXCEL_EPOCH,
    TIMESTAMP_READERS,
    TIMESTAMP_SPELLINGS,
    fast_parse,
    normalize_codes,
    normalize_enum,
    normalize_header,
    parse_bools,
    parse_dates,
    parse_dates_general,
    parse_floats,
    parse_ints,
    parse_periods,
    parse_timestamps,
    parse_timestamps_general,
    spelling_shape,
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


# Cells as offices type them: every listed spelling, padded or not, with odd spacing,
# out-of-range fields, fractions, full-width forms, and junk from the same characters.
def _field(n: int) -> st.SearchStrategy[str]:
    return st.sampled_from([str(n), f"{n:02d}"])


@st.composite
def typed_cells(draw) -> str:
    t = draw(TIMES)
    year = draw(st.sampled_from([str(t.year), str(t.year)[2:], f"+{t.year}", f"{t.year}1"]))
    month, day = draw(_field(t.month)), draw(_field(t.day))
    hour = draw(_field(draw(st.sampled_from([t.hour, t.hour, 24, 29]))))
    minute = draw(_field(draw(st.sampled_from([t.minute, t.minute, 60]))))
    second = draw(_field(draw(st.sampled_from([t.second, t.second, 60]))))
    day_part = draw(
        st.sampled_from(
            [
                f"{year}-{month}-{day}",
                f"{year}/{month}/{day}",
                f"{year}.{month}.{day}",
                f"{year}年{month}月{day}日",
                f"{year}年{month}月{day}号",
                f"{year}{month}{day}",
            ]
        )
    )
    time_part = draw(
        st.sampled_from(
            [
                "",
                f"{hour}:{minute}",
                f"{hour}:{minute}:{second}",
                f"{hour}:{minute}:{second}.250",
                f"{hour}时{minute}分",
                f"{hour}时{minute}分{second}秒",
                f"{hour}点{minute}分",
                f"{hour}点{minute}",
            ]
        )
    )
    spacer = draw(st.sampled_from(["", " ", "  ", "T", "\u3000", "\u00a0"])) if time_part else ""
    cell = day_part + spacer + time_part
    return cell.translate(FULL_WIDTH) if draw(st.booleans()) and len(cell) < 12 else cell


CELLS = st.one_of(
    typed_cells(),
    st.text(alphabet="0123456789-/.年月日号时点分秒T :+", max_size=24),
    st.builds(lambda d: str((d - EXCEL_EPOCH).days) + ".5", DATES),
)


@pytest.mark.slow
@given(st.lists(CELLS, min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_spelling_formats_read_what_the_general_normaliser_reads(cells):
    # The cells the canonical parse leaves are read with the formats of the spellings a
    # sample of them shows, the rest by the general normaliser: which of the two reads a
    # cell (it depends on the other cells) must never change its value.
    column = pl.Series("c", cells, dtype=pl.String)
    for dtype, parse, general in (
        ("timestamp", parse_timestamps, parse_timestamps_general),
        ("date", parse_dates, parse_dates_general),
    ):
        canonical = column.to_frame().select(fast_parse(dtype, pl.col("c"))).to_series()
        expected = canonical.fill_null(general(column))
        assert parse(column).to_list() == expected.to_list(), dtype


@given(TIMES, st.sampled_from(TIMESTAMP_SPELLINGS))
@settings(max_examples=200, deadline=None)
def test_every_listed_timestamp_spelling_is_read_by_its_format(t, spelling):
    t = t.replace(microsecond=0)
    if "%S" not in spelling:
        t = t.replace(second=0)
    text = t.strftime(spelling)
    assert re.match(spelling_shape(spelling), text)
    reader = TIMESTAMP_READERS[spelling](pl.col("c"))
    assert pl.DataFrame({"c": [text]}).select(reader).item() == t
    assert one(parse_timestamps, text) == t


def test_a_column_mixing_every_spelling_reads_each_cell():
    t = datetime(2026, 1, 1, 9, 5)
    cells = [t.strftime(s) for s in TIMESTAMP_SPELLINGS] + ["46023.378472222", "2026/1/1 9:05"]
    column = pl.Series("c", cells * 3 + [None, "2026年13月1日 9:05", "2026/1/1"])
    parsed = parse_timestamps(column).to_list()
    assert parsed[: len(cells) * 3] == [t] * (len(cells) * 3)
    assert parsed[len(cells) * 3 :] == [None, None, None]
