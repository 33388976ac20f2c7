"""Normalisers: turn the text of office files into typed values, vectorised with Polars.

Every parser takes a String Series that :func:`clean` has already stripped (empty cells
are null) and returns a typed Series of the same length: the value, or null where the
text cannot be read. Callers tell "empty" from "unreadable" by comparing nulls with the
input. Each parser first tries the canonical format of the generated files on the whole
column (the fast path that 1M-row files take) and runs the tolerant fallbacks only on
the cells that failed, so quirks cost nothing on clean files.

Dates and timestamps off the canonical format (a file as Excel shows ``2026/1/1 9:00``)
go through :func:`by_spellings`: one strptime format per spelling a sample shows, then
the general normaliser on what is left; all Polars expressions, no loop over rows.

Tolerated (docs/loading.md): full-width digits and punctuation (``２０２６／１０／５``),
dates ``2026-10-05``, ``2026/10/5``, ``2026.10.05``, ``2026年10月5日``, ``20261005`` and
Excel serial numbers, timestamps with or without seconds (``2026-10-05 14:30``),
``T`` separators and Chinese time units (``14时30分``), thousands separators in
numbers, ``.0`` on integers, 是/否 and common yes/no spellings, periods such as
``2026H1`` or ``2026年上半年``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date

import polars as pl

# Excel's day zero for serial numbers (1900 date system, after its 1900-02-29 bug).
EXCEL_EPOCH = date(1899, 12, 30)
# Five-digit serials span 1927-05-18 … 2173-10-14: every plausible date, while eight-digit
# numbers stay free to mean a compact date (20261005).
SERIAL_PATTERN = r"^\d{5}(?:\.\d+)?$"

DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# How offices' spreadsheets spell a date, and a time of day after it (docs/loading.md),
# as strptime formats; every spelling of a date-time is a date, a space and a time.
DATE_SPELLINGS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y年%m月%d号")
TIME_SPELLINGS = ("%H:%M", "%H:%M:%S", "%H时%M分", "%H时%M分%S秒", "%H点%M分", "%H点%M分%S秒")
TIMESTAMP_SPELLINGS = (
    *(f"{d} {t}" for d in DATE_SPELLINGS for t in TIME_SPELLINGS),
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
)
# A date column also takes a date with a time after it (a workbook's date cell reads as
# ``2026-10-05 00:00:00``) and the compact ``20261005``.
DATE_COLUMN_SPELLINGS = (
    *DATE_SPELLINGS,
    *(f"{d} {t}" for d in DATE_SPELLINGS for t in TIME_SPELLINGS[:2]),
    "%Y%m%d",
)
# Of the failed cells, this many (spread over the column) choose the spellings to try.
SAMPLE_CELLS = 256

# Dashes that Word/WPS autocorrect or Chinese input methods produce instead of "-";
# NFKC leaves them alone.
_DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\ufe63"]

TRUE_WORDS = ("是", "y", "yes", "true", "1", "t", "√")
FALSE_WORDS = ("否", "n", "no", "false", "0", "f", "×")


def clean(expr: pl.Expr) -> pl.Expr:
    """Strip surrounding whitespace (incl. full-width and no-break spaces); empty → null."""
    return expr.str.strip_chars().replace("", None)


def has_non_ascii(s: pl.Series) -> bool:
    """Whether any cell holds a non-ASCII character (cheap test before NFKC)."""
    return bool((s.str.len_bytes() != s.str.len_chars()).any())


def to_halfwidth(s: pl.Series) -> pl.Series:
    """Full-width letters, digits and punctuation → ASCII (NFKC), odd dashes → ``-``."""
    if not has_non_ascii(s):
        return s
    return s.str.normalize("NFKC").str.replace_many(_DASHES, ["-"] * len(_DASHES))


def normalize_codes(s: pl.Series) -> pl.Series:
    """Identifier columns: ASCII codes, so only full-width forms need fixing."""
    return to_halfwidth(s)


def _failed(parsed: pl.Series, text: pl.Series) -> pl.Series:
    return parsed.is_null() & text.is_not_null()


def _patch(parsed: pl.Series, text: pl.Series, slow) -> pl.Series:
    """Re-parse only the cells the fast path could not read, with ``slow``."""
    failed = _failed(parsed, text)
    if not failed.any():
        return parsed
    idx = failed.arg_true()
    fixed = slow(text.gather(idx))
    return parsed.scatter(idx, fixed)


def _serial_days(t: pl.Expr) -> pl.Expr:
    """Excel serial numbers (as text) → float days, null for anything else."""
    return pl.when(t.str.contains(SERIAL_PATTERN)).then(t.cast(pl.Float64, strict=False))


def _ymd(text: pl.Series) -> pl.Series:
    """Rewrite 2026/10/5, 2026.10.05 and 2026年10月5日 (at the start) to 2026-10-5."""
    return text.str.replace(
        r"^(\d{4})\s*[./年-]\s*(\d{1,2})\s*[./月-]\s*(\d{1,2})(?:\s*[日号])?", "${1}-${2}-${3} "
    )


def _serial_date(t: pl.Expr) -> pl.Expr:
    """Excel serial numbers (as text) → the date of the day they fall on."""
    return pl.lit(EXCEL_EPOCH) + pl.duration(days=_serial_days(t).floor().cast(pl.Int64))


def _serial_timestamp(t: pl.Expr) -> pl.Expr:
    """Excel serial numbers with a fraction (a time of day) → that instant, to the second.

    A whole serial is a bare date: null.
    """
    days = _serial_days(pl.when(t.str.contains(r"\.\d+$")).then(t))
    return pl.lit(EXCEL_EPOCH).cast(pl.Datetime("us")) + pl.duration(
        seconds=(days * 86400).round().cast(pl.Int64)
    )


def parse_dates_general(text: pl.Series) -> pl.Series:
    """Dates in any tolerated spelling → ``pl.Date``, by rewriting every cell to the
    canonical form (full-width folded, separators unified) and parsing that: the
    fallback of :func:`by_spellings`, for the cells no listed spelling reads."""
    t = pl.col("t")
    iso = t.str.extract_groups(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?$"
    )
    compact = t.str.extract_groups(r"^(\d{4})(\d{2})(\d{2})$")

    def as_date(groups: pl.Expr) -> pl.Expr:
        text_date = pl.concat_str([groups.struct.field(f) for f in ("1", "2", "3")], separator="-")
        return text_date.str.to_date(DATE_FORMAT, strict=False)

    frame = pl.DataFrame({"t": _ymd(to_halfwidth(text)).str.strip_chars()})
    return frame.select(
        pl.coalesce(as_date(iso), as_date(compact), _serial_date(t)).alias(text.name)
    ).to_series()


def parse_dates(s: pl.Series) -> pl.Series:
    """Dates in any tolerated form → ``pl.Date`` (null where unreadable)."""
    return finish_parse(
        "date", s.to_frame().select(fast_parse("date", pl.col(s.name))).to_series(), s
    )


def parse_timestamps_general(text: pl.Series) -> pl.Series:
    """Date-times in any tolerated spelling → ``pl.Datetime('us')``, by rewriting every
    cell to the canonical form (full-width folded, Chinese units and ``T`` to ``:`` and
    space, fractions of seconds dropped) and parsing that; a bare date is null. The
    fallback of :func:`by_spellings`."""
    t = _ymd(to_halfwidth(text))
    t = t.str.replace_many(["T", "时", "点", "分", "秒"], [" ", ":", ":", ":", ""])
    t = t.str.strip_chars().str.strip_chars_end(":")
    col = pl.col("t")
    parts = col.str.extract_groups(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?$"
    )
    field = parts.struct.field
    canonical = pl.format(
        "{}-{}-{} {}:{}:{}",
        field("1"),
        field("2"),
        field("3"),
        field("4"),
        field("5"),
        field("6").fill_null("0"),
    )
    parsed = canonical.str.to_datetime(TIMESTAMP_FORMAT, strict=False, time_unit="us", cache=False)
    frame = pl.DataFrame({"t": t})
    return frame.select(pl.coalesce(parsed, _serial_timestamp(col)).alias(text.name)).to_series()


def parse_timestamps(s: pl.Series) -> pl.Series:
    """Date-times in any tolerated form → ``pl.Datetime('us')``; a bare date is null."""
    fast = s.to_frame().select(fast_parse("timestamp", pl.col(s.name))).to_series()
    return finish_parse("timestamp", fast, s)


def _finite(number: pl.Expr) -> pl.Expr:
    """NaN and ±inf (Polars reads "nan", "inf") are not numbers a file should hold."""
    return pl.when(number.is_finite()).then(number)


def _numbers_slow(text: pl.Series) -> pl.Series:
    t = to_halfwidth(text).str.replace_all(r"[,\s]", "")
    return t.to_frame("t").select(_finite(pl.col("t").cast(pl.Float64, strict=False))).to_series()


def _ints_slow(text: pl.Series) -> pl.Series:
    number = _numbers_slow(text)
    x = pl.col("x")
    return (
        pl.DataFrame({"x": number})
        .select(pl.when(x == x.round()).then(x).cast(pl.Int64, strict=False))
        .to_series()
        .alias(text.name)
    )


def parse_floats(s: pl.Series) -> pl.Series:
    """Numbers → ``pl.Float64``: full-width digits and thousands separators allowed.

    ``nan`` and ``inf`` are unreadable (null), like any other word.
    """
    fast = s.to_frame().select(fast_parse("float", pl.col(s.name))).to_series()
    return finish_parse("float", fast, s)


def parse_ints(s: pl.Series) -> pl.Series:
    """Whole numbers → ``pl.Int64``; ``90.0`` (as Excel writes it) is 90, ``90.5`` is null."""
    return finish_parse("int", s.cast(pl.Int64, strict=False), s)


def _canonical_width(text: pl.Expr, width: int) -> pl.Expr:
    """Only cells as wide as the canonical format: a failing parse costs 3–4 times a
    good one (the parser retries the cell with a slower one), and a whole file in
    another spelling (``2026-10-05 14:30``) would pay it on every cell, twice."""
    return pl.when(text.str.len_bytes() == width).then(text)


def fast_parse(dtype: str, text: pl.Expr) -> pl.Expr:
    """The canonical-format parse of a date/timestamp/int/float column, as an expression.

    Callers evaluate the fast parses of all columns in one ``select`` (so Polars runs
    them in parallel) and then :func:`finish_parse` each column.
    """
    if dtype == "date":
        return _canonical_width(text, len("2026-10-05")).str.to_date(DATE_FORMAT, strict=False)
    if dtype == "timestamp":
        # Timestamps are nearly all distinct: the parse cache only costs (40 % here).
        return _canonical_width(text, len("2026-10-05 14:30:15")).str.to_datetime(
            TIMESTAMP_FORMAT, strict=False, time_unit="us", cache=False
        )
    if dtype == "int":
        return text.cast(pl.Int64, strict=False)
    if dtype == "float":
        return _finite(text.cast(pl.Float64, strict=False))
    raise ValueError(dtype)


Reader = Callable[[pl.Expr], pl.Expr]

# What a strptime field may hold here. The parser (chrono) alone would also read "26"
# or "+2026" as a year and "2026105" as a compact date, which the general normaliser
# refuses: a spelling's format must never read a cell differently from it.
_FIELD_SHAPES = {"%Y": "[0-9]{4}", **{f: "[0-9]{1,2}" for f in ("%m", "%d", "%H", "%M", "%S")}}


def spelling_shape(spelling: str) -> str:
    """The regular expression of the cells a strptime spelling reads: four-digit years,
    one- or two-digit fields (eight digits in all for ``%Y%m%d``), any spaces (or none)
    where the format has a space, as the parser allows."""
    if spelling == "%Y%m%d":
        return "^[0-9]{8}$"
    pieces = re.findall(r"%[YmdHMS]|.", spelling)
    return (
        "^"
        + "".join(_FIELD_SHAPES.get(p) or (r"\s*" if p == " " else re.escape(p)) for p in pieces)
        + "$"
    )


def _strptime(spelling: str, dtype: str) -> Reader:
    shape = spelling_shape(spelling)
    if dtype == "date":
        return lambda t: pl.when(t.str.contains(shape)).then(t.str.to_date(spelling, strict=False))
    return lambda t: pl.when(t.str.contains(shape)).then(
        t.str.to_datetime(spelling, strict=False, time_unit="us", cache=False)
    )


DATE_READERS: dict[str, Reader] = {
    **{s: _strptime(s, "date") for s in DATE_COLUMN_SPELLINGS},
    "Excel serial": _serial_date,
}
TIMESTAMP_READERS: dict[str, Reader] = {
    **{s: _strptime(s, "timestamp") for s in TIMESTAMP_SPELLINGS},
    "Excel serial": _serial_timestamp,
}


def by_spellings(
    text: pl.Series, readers: dict[str, Reader], general: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """Read ``text`` with the spellings that a sample of its cells shows, most common
    first, each on the cells still unread; then ``general`` on the rest.

    A file is nearly always written in one or two spellings, so it costs one parse per
    spelling it holds instead of the general normaliser's rewriting of every cell; the
    sample only chooses which parses run, never what a cell reads as.
    """
    sample = text.gather_every(max(1, text.len() // SAMPLE_CELLS)).drop_nulls().to_frame("t")
    t = pl.col("t")
    hits = sample.select(
        read(t).is_not_null().sum().alias(name) for name, read in readers.items()
    ).row(0, named=True)
    chosen = sorted((name for name in readers if hits[name]), key=lambda name: -hits[name])
    if not chosen:
        return general(text)

    def reading(name: str) -> Callable[[pl.Series], pl.Series]:
        return lambda s: s.to_frame("t").select(readers[name](t)).to_series()

    parsed = reading(chosen[0])(text)
    for name in chosen[1:]:
        parsed = _patch(parsed, text, reading(name))
    return _patch(parsed, text, general).alias(text.name)


def _dates(text: pl.Series) -> pl.Series:
    return by_spellings(text, DATE_READERS, parse_dates_general)


def _timestamps(text: pl.Series) -> pl.Series:
    return by_spellings(text, TIMESTAMP_READERS, parse_timestamps_general)


_SLOW = {
    "date": _dates,
    "timestamp": _timestamps,
    "int": _ints_slow,
    "float": _numbers_slow,
}


def finish_parse(dtype: str, fast: pl.Series, text: pl.Series) -> pl.Series:
    """Run the tolerant fallback on the cells the fast parse could not read."""
    return _patch(fast, text, _SLOW[dtype]).alias(text.name)


def parse_bools(s: pl.Series) -> pl.Series:
    """是/否 (and y/n, true/false, 1/0, √/×) → ``pl.Boolean``."""
    key = to_halfwidth(s).str.to_lowercase()
    mapping = {w: True for w in TRUE_WORDS} | {w: False for w in FALSE_WORDS}
    return key.replace_strict(mapping, default=None, return_dtype=pl.Boolean)


def parse_periods(s: pl.Series) -> pl.Series:
    """Evaluation periods → canonical ``2026H1``/``2026H2`` (null where unreadable).

    Accepted: ``2026H1``, ``2026h2``, ``2026-H1``, ``2026年上半年``, ``2026上半年``.
    """
    t = to_halfwidth(s).str.replace_all(r"\s", "").str.to_uppercase()
    t = t.str.replace("上半年", "H1").str.replace("下半年", "H2").str.replace("年", "")
    parts = pl.col("t").str.extract_groups(r"^(\d{4})-?H([12])$").struct
    return (
        pl.DataFrame({"t": t})
        .select(pl.format("{}H{}", parts.field("1"), parts.field("2")).alias(s.name))
        .to_series()
    )


def normalize_enum(s: pl.Series, allowed: Iterable[str]) -> pl.Series:
    """Keep values as written when allowed; otherwise retry without inner spaces/full-width.

    Values that still do not match are returned unchanged so the validator can report
    them as written.
    """
    allowed = list(allowed)
    ok = s.is_in(pl.Series(allowed).implode()).fill_null(True)
    if ok.all():
        return s
    idx = (~ok).arg_true()
    retry = to_halfwidth(s.gather(idx)).str.replace_all(r"\s", "")
    return s.scatter(idx, retry)


def normalize_header(text: object) -> str:
    """A header cell → the form matched against contracts (see :mod:`etl.reader`).

    NFKC, no whitespace, lower case (for English aliases), without the required-field
    markers templates add (``*``, ``(必填)``, ``（必填）``).
    """
    if text is None:
        return ""
    value = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    value = "".join(value.split()).lower()
    for marker in ("(必填)", "(选填)", "*"):
        value = value.replace(marker, "")
    return value
