"""Reporting units: one village's rows of one data kind for one month (报送情况).

The loader records which units each upload brought (:mod:`etl.upload_units`), the
office declares 零报告 for a unit (:mod:`etl.zero_reports`) and the metrics tell each
unit's status (:mod:`metrics.completeness`); all three take the month and village of a
row from here, so a row belongs to the same unit everywhere:

* ``activity``: its ``activity_date`` and ``village_id``;
* ``attendance``: the date and village of its activity;
* ``report``: its ``reported_at`` and the village of its sub-grid.

The tables (created by :mod:`etl.schema`, read by the metrics):

* ``upload_unit (batch_id, village_id, month, kind, n_rows)`` — the rows of each
  unit a batch wrote (inserted or replaced);
* ``zero_report (village_id, month, kind, declared_by, declared_at, note)`` — the
  office's declarations that a unit had nothing to report.
"""

from __future__ import annotations

# The data kinds whose arrival is tracked, in the order pages show them.
UNIT_KINDS = ("activity", "attendance", "report")
# How the pages and messages name them (the banner's "未报送 活动、出勤").
UNIT_KIND_LABELS = {"activity": "活动", "attendance": "出勤", "report": "民情"}

UPLOAD_UNIT_TABLE = "upload_unit"
ZERO_REPORT_TABLE = "zero_report"

_MONTH_OF = "CAST(date_trunc('month', {}) AS DATE)"
# Per kind: the FROM clause reaching the row's village and date (``t`` is the row).
_SOURCES = {
    "activity": ("t.village_id", "t.activity_date", "{relation} t"),
    "attendance": (
        "a.village_id",
        "a.activity_date",
        "{relation} t JOIN activity a ON a.activity_id = t.activity_id",
    ),
    "report": (
        "s.village_id",
        "t.reported_at",
        "{relation} t JOIN subgrid s ON s.subgrid_id = t.subgrid_id",
    ),
}


def units_select(kind: str, relation: str, in_months: bool = False) -> str:
    """SQL of ``village_id, month, n_rows``: the units the rows of ``relation`` (rows
    of ``kind``, with its columns) belong to, and how many rows each has.

    With ``in_months`` only the rows dated from ``$first_month`` (a first day of a month)
    up to before ``$after_month`` count: the date is compared as stored, so DuckDB can
    prune on it.
    """
    if kind not in _SOURCES:
        raise ValueError(f"no reporting units for kind {kind!r}")
    village, dated, source = _SOURCES[kind]
    where = f" WHERE {dated} >= $first_month AND {dated} < $after_month" if in_months else ""
    return (
        f"SELECT {village} AS village_id, {_MONTH_OF.format(dated)} AS month, "
        f"count(*) AS n_rows FROM {source.format(relation=relation)}{where} GROUP BY ALL"
    )
