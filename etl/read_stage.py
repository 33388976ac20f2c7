"""The read stage of an upload for one file: read, measure, detect, type.

This is what runs on untrusted bytes, so it is what :mod:`etl.isolation` runs in a
child process: it touches no database and returns plain data (typed tables and the
problems found), which the parent checks against the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from etl.limits import ReadLimits
from etl.prescan import ReadError
from etl.raw_table import RawTable
from etl.reader import read_upload
from etl.validation.findings import extra_column_warnings, problems_report
from etl.validation.typed_table import Part, type_table


@dataclass
class TableReading:
    """One table found in a file: its raw form, typed form (if typable) and problems."""

    raw: RawTable
    part: Part | None
    rows: int
    errors: pl.DataFrame
    warnings: pl.DataFrame


@dataclass
class FileReading:
    """What reading one file gave: its tables, or the reason it cannot be read."""

    tables: list[TableReading] = field(default_factory=list)
    error: str | None = None


def read_file(name: str, data: bytes, first_index: int, limits: ReadLimits) -> FileReading:
    """Read and type every table of one file; typed tables are numbered from
    ``first_index`` (their place in the upload)."""
    try:
        tables = read_upload(name, data, limits)
    except ReadError as exc:
        return FileReading(error=str(exc))
    reading = FileReading()
    for table in tables:
        errors, warnings = problems_report(table), extra_column_warnings(table)
        part = None
        if table.kind is not None and not table.missing_columns:
            part = type_table(table, first_index)
            first_index += 1
            rows = part.typed.height
        else:
            rows = table.frame.height
        reading.tables.append(TableReading(table, part, rows, errors, warnings))
    return reading
