"""A table read from an uploaded file, still as text, and how a text grid becomes one.

The readers (:mod:`etl.reader`) find the header row of a CSV or worksheet and hand the
grid from there to :func:`fill_table`, which keeps the recognised columns (named by
the database column), numbers the rows as Excel shows them (:data:`ROW`) and notes the
file-level problems: duplicate, unknown and missing columns, oversized cells, control
characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from etl.headers import HeaderMatch
from etl.limits import ReadLimits
from etl.normalize import clean
from etl.prescan import CONTROL_CHARACTERS
from store.contracts import Kind

ROW = "_row"  # Excel row number of each data row


CLEAN_ALL_BYTES = 64 * 2**20  # text tables smaller than this are cleaned in one pass


@dataclass
class Problem:
    """A file-level problem, reported like a row error (row = header row)."""

    row: int | None
    column: str
    value: str
    reason: str


@dataclass
class RawTable:
    """One table read from an uploaded file, still as text.

    ``text`` has one String column per recognised column (named by the database
    column, see :mod:`store.contracts`) exactly as read (an empty field is null; cells are
    not yet stripped), plus :data:`ROW`. :attr:`frame` is the cleaned view. ``headers``
    maps column name → the header as written in the file.
    """

    file_name: str
    sheet: str | None
    kind: Kind | None
    header_row: int | None
    headers: dict[str, str] = field(default_factory=dict)
    text: pl.DataFrame = field(default_factory=pl.DataFrame)
    extra_headers: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    encoding: str | None = None
    _frame: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How reports name this table: the file name, plus the sheet for workbooks."""
        return f"{self.file_name} / {self.sheet}" if self.sheet else self.file_name

    @property
    def frame(self) -> pl.DataFrame:
        """The text cleaned (every cell stripped, empty → null), empty rows dropped.

        Computed on first use. The loader does not need it: its typing step
        (:func:`etl.validation.typed_table.type_table`) strips only the columns that are not already
        in their canonical form, which is most of the cost of a large clean file.
        """
        if self._frame is None:
            self._frame = drop_empty_rows(clean_columns(self.text, self.value_columns))
        return self._frame

    def replace_text(self, text: pl.DataFrame) -> None:
        """Swap in a partly cleaned copy of ``text`` (same rows but for empty ones)."""
        self.text = text
        self._frame = None

    @property
    def value_columns(self) -> list[str]:
        """The recognised columns present (``text`` without :data:`ROW`)."""
        return [c for c in self.text.columns if c != ROW]


def non_empty_rows(frame: pl.DataFrame) -> pl.Series | None:
    """Mask of the rows with a value in some cell; None when every row has one."""
    values = [c for c in frame.columns if c != ROW]
    if not values:
        return None
    keep = frame.select(pl.any_horizontal(pl.col(c).is_not_null() for c in values)).to_series()
    return None if keep.all() else keep


def drop_empty_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose every cell (cleaned) is null go: Excel's empty and trailing rows."""
    keep = non_empty_rows(frame)
    return frame if keep is None else frame.filter(keep)  # only copy when there is one


def clean_columns(data: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Strip the cells of ``names``; the cells left empty become nulls (see :func:`clean`).

    Polars already reads an empty CSV field as null, so the costlier empty → null
    replacement only runs on the columns that hold an empty string after stripping
    (quoted ``""`` or blanks). Small tables are stripped in one parallel pass; big ones
    a few columns at a time, each raw column freed as soon as its stripped copy exists
    (a 1M-row report file would otherwise hold two full copies of its text).
    """
    step = len(names) if data.estimated_size() < CLEAN_ALL_BYTES else 4
    for i in range(0, len(names), max(step, 1)):
        chunk = names[i : i + step]
        data = data.with_columns(pl.col(chunk).str.strip_chars())
        empty = data.select((pl.col(c).str.len_bytes() == 0).any() for c in chunk).row(0)
        blank = [c for c, has in zip(chunk, empty, strict=True) if has]
        if blank:
            data = data.with_columns(clean(pl.col(c)).alias(c) for c in blank)
    return data


def fill_table(
    table: RawTable,
    match: HeaderMatch,
    holder: list[pl.DataFrame],
    first_row: int,
    limits: ReadLimits,
) -> None:
    """Turn a text grid whose first row is the header into the table's columns.

    The grid comes in a one-item list that this function empties, so that the caller
    keeps no reference to the columns this table does not use.
    """
    grid = holder.pop()
    header = grid.row(0) if grid.height else ()
    table.kind = match.kind
    names = grid.columns
    rename: dict[str, str] = {}
    for pos, name in match.columns.items():
        rename[names[pos]] = name
        table.headers[name] = str(header[pos]).strip()
    for pos in match.duplicates:
        table.problems.append(
            Problem(table.header_row, str(header[pos]).strip(), "", "列名重复：同一列出现了两次")
        )
    data = grid.slice(1)
    del grid
    unknown = [
        (pos, header[pos])
        for pos in range(len(names))
        if pos not in match.columns and pos not in match.duplicates
    ]
    # Unknown columns: a warning when they carry a header or data, silently dropped when
    # they are the empty trailing columns Excel leaves behind.
    for pos, text in unknown:
        text = "" if text is None else str(text).strip()
        if text:
            table.extra_headers.append(text)
        elif data.height and data.select(clean(pl.col(names[pos])).is_not_null().any()).item():
            table.extra_headers.append(f"第 {pos + 1} 列（无表头）")
    table.missing_columns = list(match.missing)
    for name in match.missing:
        header_text = match.kind.column(name).header
        table.problems.append(Problem(table.header_row, header_text, "", "缺少必填列"))
    # Rows of nothing but empty fields go now (cheap: no cleaning needed); rows of
    # blanks go after cleaning (RawTable.frame, or the loader's typing step).
    frame = data.select(list(rename)).rename(rename).with_row_index(ROW, offset=first_row + 1)
    del data
    table.text = drop_empty_rows(frame.with_columns(pl.col(ROW).cast(pl.Int64)))
    table.problems.extend(_cell_problems(table, limits))


def _cell_problems(table: RawTable, limits: ReadLimits) -> list[Problem]:
    """Cells over the size limit or holding control characters (first one per column).

    A CSV's bytes were measured before parsing; a quoted field can still hold
    separators, and a workbook's cells are only seen once read, so the cells are
    checked again here (vectorised: cheap next to the reading).
    """
    names = table.value_columns
    if not names or table.text.is_empty():
        return []
    pattern = CONTROL_CHARACTERS.pattern.decode()
    found = table.text.select(
        *[
            (pl.col(c).str.len_bytes() > limits.field_bytes).arg_true().first().alias(c)
            for c in names
        ],
        *[pl.col(c).str.contains(pattern).arg_true().first().alias(f"{c}\x00") for c in names],
    ).row(0, named=True)
    problems = []
    for name in names:
        header = table.headers.get(name, name)
        big, control = found[name], found[f"{name}\x00"]
        if big is not None:
            problems.append(
                Problem(
                    int(table.text[ROW][big]),
                    header,
                    "",
                    f"单元格超过 {limits.field_kb} KB 的上限",
                )
            )
        if control is not None:
            problems.append(
                Problem(int(table.text[ROW][control]), header, "", "单元格含有控制字符")
            )
    return problems
