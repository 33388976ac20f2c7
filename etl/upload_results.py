"""What validating and loading an upload report: per-file summaries, errors, records.

These are the types the API of :mod:`etl.load` returns (and the upload page and the
CLI show).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from etl.limits import Limits
from etl.upsert import KindPlan

# A progress callback: (step, total, label), called as the work advances.
Progress = Callable[[int, int, str], None]


class UploadRejected(Exception):
    """The upload has errors; nothing was written. ``result`` holds the report."""

    def __init__(self, result: ValidationResult):
        super().__init__(f"上传被拒绝：共 {result.errors.height} 个错误，数据库未做任何修改")
        self.result = result


class OutsideRowsRefused(Exception):
    """The upload has rows outside the village or month their file is for
    (``result.outside``) and the user did not accept them; nothing was written."""

    def __init__(self, result: ValidationResult):
        super().__init__(
            f"未载入：有 {result.outside.height} 行不属于文件所对应的村居或月份，"
            "需核对后确认一并载入（页面勾选确认；命令行不加 --refuse-outside）"
        )
        self.result = result


@dataclass
class FileSummary:
    """One table of an upload: what was recognised, and (after commit) what was written."""

    file_name: str
    sheet: str | None
    sha256: str
    kind: str | None
    kind_label: str | None
    rows: int
    header_row: int | None = None
    encoding: str | None = None
    duplicate_of: int | None = None  # upload id of an identical, already loaded file
    same_as: str | None = None  # an identical file earlier in the same upload
    preview: pl.DataFrame = field(default_factory=pl.DataFrame)
    part: int | None = None  # index of the typed table in the upload
    upload_id: int | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def label(self) -> str:
        """How reports name the table: the file name, plus the sheet for workbooks."""
        return f"{self.file_name} / {self.sheet}" if self.sheet else self.file_name

    @property
    def superseded(self) -> int:
        """Report rows dropped for a later state of the same report in this upload."""
        return max(0, self.rows - self.inserted - self.updated - self.unchanged)

    @property
    def skipped(self) -> bool:
        """An identical file was already loaded (or is earlier in this upload): no-op."""
        return self.duplicate_of is not None or self.same_as is not None


@dataclass
class ValidationResult:
    """The outcome of :func:`validate_uploads`.

    ``errors`` and ``warnings`` are frames with the columns 文件, 行号, 列, 值, 原因
    (行号 is the Excel row number; null for problems of the whole file); so is
    ``outside``, the rows outside the village or month their file is for
    (:mod:`etl.validation.scope`), which the commit refuses unless accepted.
    """

    files: list[FileSummary]
    errors: pl.DataFrame
    warnings: pl.DataFrame
    data_version: int
    today: date
    sources: list[tuple[str, bytes]] = field(repr=False, default_factory=list)
    plans: list[KindPlan] = field(repr=False, default_factory=list)
    limits: Limits | None = field(repr=False, default=None)
    outside: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def needs_acceptance(self) -> bool:
        """True when rows outside the declared village or month must be accepted."""
        return self.outside.height > 0

    @property
    def ok(self) -> bool:
        """True when the upload can be committed (no errors)."""
        return self.errors.height == 0

    @property
    def noop(self) -> bool:
        """True when every file was already loaded (nothing to write)."""
        return all(f.skipped for f in self.files)


@dataclass
class UploadRecord:
    """One row of the ``upload`` table."""

    upload_id: int
    batch_id: int
    file_name: str
    sheet: str | None
    sha256: str
    kind: str
    rows_in_file: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    user_name: str
    uploaded_at: datetime

    def as_dict(self) -> dict:
        """The record as a row of the ``upload`` table (column → value)."""
        return dict(self.__dict__)


@dataclass
class LoadResult:
    """What :func:`load_uploads` did: the validation report and the records written."""

    validation: ValidationResult
    records: list[UploadRecord]
    dry_run: bool = False

    @property
    def batch_id(self) -> int | None:
        """The batch the upload was written as (None when nothing was written)."""
        return self.records[0].batch_id if self.records else None


def no_progress(step: int, total: int, label: str) -> None:
    """The progress callback when the caller gives none."""
