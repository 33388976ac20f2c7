"""Small hand-made databases for the metrics tests.

:class:`GridBuilder` creates the schema on a temporary DuckDB file and inserts a
handful of rows with short helpers; :meth:`GridBuilder.finish` builds the rollups
(as a load would) and returns the connection. Defaults keep the rows terse: one town
``T``, ids as given, every timestamp a ``YYYY-MM-DD HH:MM`` string.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from etl.rollups import refresh
from etl.schema import create_schema
from etl.zero_reports import declare_zero_report
from store.database import connect
from store.months import parse_month


def ts(text: str | None) -> datetime | None:
    """``'2026-03-05 09:00'`` → datetime (None stays None)."""
    return None if text is None else datetime.strptime(text, "%Y-%m-%d %H:%M")


def d(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


class GridBuilder:
    """Insert registry and log rows into a fresh database, then build the rollups."""

    def __init__(self, path: Path):
        self.con = connect(path)
        create_schema(self.con)
        self._seq = 0

    def village(self, village_id: str, name: str | None = None, town: str = "T") -> None:
        self.con.execute(
            "INSERT INTO village VALUES (?, ?, ?, ?, '村', false, 121.4, 30.8)",
            [village_id, town, f"{town}镇", name or f"{village_id}村"],
        )

    def subgrid(self, subgrid_id: str, village_id: str) -> None:
        self.con.execute(
            "INSERT INTO subgrid VALUES (?, ?, ?, 121.4, 30.8)",
            [subgrid_id, village_id, f"{subgrid_id}网格"],
        )

    def person(
        self,
        person_id: str,
        subgrid_id: str | None,
        village_id: str,
        *,
        party: bool = True,
        role: str = "党员",
        active_from: str = "2020-01-01",
        active_to: str | None = None,
        name: str | None = None,
    ) -> None:
        self.con.execute(
            "INSERT INTO person VALUES (?, ?, '男', 1970, ?, ?, ?, ?, NULL, ?, ?)",
            [
                person_id,
                name or f"人{person_id}",
                village_id,
                subgrid_id,
                party,
                role,
                d(active_from),
                d(active_to),
            ],
        )

    def activity(
        self,
        day: str,
        village_id: str,
        subgrid_id: str | None,
        activity_type: str,
        activity_id: str | None = None,
    ) -> str:
        self._seq += 1
        activity_id = activity_id or f"A{self._seq:03d}"
        self.con.execute(
            "INSERT INTO activity VALUES (?, ?, ?, ?, ?, '主题', NULL, NULL, 60)",
            [activity_id, d(day), village_id, subgrid_id, activity_type],
        )
        return activity_id

    def attend(
        self, activity_id: str, person_id: str, status: str = "出席", mode: str | None = None
    ) -> None:
        if mode is None and status == "出席":
            mode = "现场"
        self.con.execute(
            "INSERT INTO attendance VALUES (?, ?, ?, ?, NULL)",
            [activity_id, person_id, status, mode],
        )

    def report(
        self,
        report_id: str,
        subgrid_id: str,
        reported: str,
        *,
        category: str = "环境卫生",
        accepted: str | None = None,
        verified: str | None = None,
        resolved: str | None = None,
        status: str | None = None,
        reporter: str | None = None,
        satisfaction: int | None = None,
    ) -> None:
        if status is None:
            status = "已办结" if resolved else ("处理中" if accepted else "待受理")
        self.con.execute(
            # Named columns: the report table gains optional ones (meeting_id).
            "INSERT INTO report (report_id, subgrid_id, reporter_id, category, summary,"
            " reported_at, accepted_at, verified_at, escalated_at, resolved_at,"
            " handling_level, status, satisfaction)"
            " VALUES (?, ?, ?, ?, '摘要', ?, ?, ?, NULL, ?, '子网格', ?, ?)",
            [
                report_id,
                subgrid_id,
                reporter,
                category,
                ts(reported),
                ts(accepted),
                ts(verified),
                ts(resolved),
                status,
                satisfaction,
            ],
        )

    def evaluation(
        self,
        period: str,
        unit_id: str,
        score: float,
        index: str = "堡垒指数",
        rater: str = "党员群众测评",
    ) -> None:
        self.con.execute(
            "INSERT INTO evaluation VALUES (?, ?, ?, ?, ?)", [period, unit_id, index, rater, score]
        )

    def deduction(self, day: str, unit_id: str, points: float, item: str | None = None) -> None:
        self._seq += 1
        self.con.execute(
            "INSERT INTO deduction VALUES (?, ?, ?, ?)",
            [d(day), unit_id, item or f"扣分{self._seq}", points],
        )

    def zero_report(self, village_id: str, month: str, *kinds: str) -> None:
        """Declare 零报告 for ``kinds`` of a village's month (``YYYY-MM``): it had
        nothing to report, which is not 未报送."""
        declare_zero_report(self.con, village_id, parse_month(month), kinds, "test")

    def finish(self) -> duckdb.DuckDBPyConnection:
        """Build the rollups (as every load does) and hand over the connection."""
        refresh(self.con)
        return self.con


def row(frame: pl.DataFrame, **where) -> dict:
    """The single row of ``frame`` matching ``where`` (column = value), as a dict."""
    matches = frame
    for column, value in where.items():
        matches = matches.filter(pl.col(column) == value)
    assert matches.height == 1, f"{where}: {matches.height} rows in\n{frame}"
    return matches.row(0, named=True)


def both_paths(fn, con, f, **kwargs) -> pl.DataFrame:
    """``fn`` over the rollups, checked equal to the direct computation; returns it."""
    with_rollups = fn(con, f, **kwargs)
    direct = fn(con, f, rollups=False, **kwargs)
    assert_frame_equal(with_rollups, direct, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    return with_rollups
