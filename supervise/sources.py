"""What the sweep would open: one :class:`Candidate` per fact that needs following up.

Read from the metrics for one data month (the latest, unless the caller says):

* ``overdue_report`` — each report of the 督办清单 (open at the month's end past its
  办结 or 受理 limit, :func:`metrics.response.overdue`); owner: the 子网格长;
* ``red_alert`` — each 红色 alert (:func:`metrics.alerts.alerts`), owner as the
  alert names it (总网格长 / 子网格长);
* ``not_reached`` — each sub-grid with members not reached by study N months running
  (:func:`metrics.study.not_reached`); owner: its 子网格长;
* ``unreported`` — each village and kind of data 未报送 for the month
  (:func:`metrics.completeness.completeness`: no rows, no 零报告, past the configured
  day); owner: the 总网格长.

A candidate carries two keys: ``source_key`` names the fact (the same report, the
same alert in the same month) and is never opened twice, even after it was closed;
``topic_key`` names what it is about regardless of the month (the alert on that unit,
that sub-grid), so a fact that persists into the next month does not open a second
item while the first is still open. Subjects name units, never persons (the owner's
name is kept apart, so that the pages and the briefing can mask it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from metrics.alerts import alerts
from metrics.completeness import UNREPORTED, completeness
from metrics.filters import Filter
from metrics.glossary import duration_text
from metrics.posts import OWNER_ROLES, post_holders
from metrics.registry import data_months
from metrics.response import overdue
from metrics.study import not_reached
from store.contracts import KINDS
from store.months import month_label

VILLAGE_OWNER, SUBGRID_OWNER = OWNER_ROLES["village"], OWNER_ROLES["subgrid"]


@dataclass(frozen=True)
class Candidate:
    """An item the sweep would open."""

    source: str
    source_key: str
    topic_key: str
    month: date | None  # None: opened by hand
    village_id: str
    subgrid_id: str | None
    subject: str
    owner_id: str | None
    owner_name: str | None
    owner_role: str


def latest_month(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last month with any activity or report (what the sweep looks at)."""
    months = data_months(con)
    return months[-1] if months else None


def owners(con: duckdb.DuckDBPyConnection, role: str, month: date) -> dict[str, tuple[str, str]]:
    """unit id → (person_id, name) of who holds ``role`` (总网格长 by village, 子网格长 by
    sub-grid) in ``month``: :func:`metrics.posts.post_holders`, the owners of alerts."""
    level = "village" if role == VILLAGE_OWNER else "subgrid"
    holders = post_holders(con, Filter(month, month, "town"), level)
    return {r["unit_id"]: (r["owner_id"], r["owner"]) for r in holders.iter_rows(named=True)}


def candidates(con: duckdb.DuckDBPyConnection, month: date) -> list[Candidate]:
    """Every candidate of ``month``, by source then unit."""
    f = Filter(month, month, "town")
    by_subgrid = owners(con, SUBGRID_OWNER, month)
    by_village = owners(con, VILLAGE_OWNER, month)
    return [
        *_overdue_reports(con, f, by_subgrid),
        *_red_alerts(con, f),
        *_not_reached(con, f, by_subgrid),
        *_unreported(con, month, by_village),
    ]


def _owned(owner: tuple[str, str] | None) -> tuple[str | None, str | None]:
    return owner if owner else (None, None)


def _overdue_reports(con, f: Filter, by_subgrid: dict) -> list[Candidate]:
    out = []
    for r in overdue(con, f).iter_rows(named=True):
        past = duration_text(r["overdue_h"])
        out.append(
            Candidate(
                "overdue_report",
                f"overdue_report:{r['report_id']}",
                f"overdue_report:{r['report_id']}",
                f.start,
                r["village_id"],
                r["subgrid_id"],
                f"{r['village_name']}{r['subgrid_name']}民情事项 {r['report_id']}"
                f"（{r['category']}）{r['overdue_reason']}，已超出时限 {past}，请督促办结。",
                *_owned(by_subgrid.get(r["subgrid_id"])),
                SUBGRID_OWNER,
            )
        )
    return out


def _red_alerts(con, f: Filter) -> list[Candidate]:
    out = []
    red = alerts(con, f).filter(pl.col("level") == "红色")
    for a in red.iter_rows(named=True):
        unit = a["subgrid_id"] or a["village_id"]
        topic = f"red_alert:{a['kpi']}:{unit}"
        out.append(
            Candidate(
                "red_alert",
                f"{topic}:{f.start:%Y-%m}",
                topic,
                f.start,
                a["village_id"],
                a["subgrid_id"],
                a["message"],
                a["owner_id"],
                a["owner"],
                a["owner_role"],
            )
        )
    return out


def _not_reached(con, f: Filter, by_subgrid: dict) -> list[Candidate]:
    """One item per sub-grid (its 子网格长 follows up all of them), not per member: a
    town has hundreds such members, and the list by name is on 学习教育."""
    members = not_reached(con, f)
    if members.is_empty():
        return []
    grouped = members.group_by("village_id", "village_name", "subgrid_id", "subgrid_name").agg(
        count=pl.len(), months=pl.col("months_not_reached").first()
    )
    out = []
    for g in grouped.sort("subgrid_id").iter_rows(named=True):
        topic = f"not_reached:{g['subgrid_id']}"
        out.append(
            Candidate(
                "not_reached",
                f"{topic}:{f.start:%Y-%m}",
                topic,
                f.start,
                g["village_id"],
                g["subgrid_id"],
                f"{g['village_name']}{g['subgrid_name']}有 {g['count']} 名党员连续 "
                f"{g['months']} 个月未参加学习教育，请逐一跟进（送学上门或补学），"
                "名单见“学习教育”页。",
                *_owned(by_subgrid.get(g["subgrid_id"])),
                SUBGRID_OWNER,
            )
        )
    return out


def _unreported(con, month: date, by_village: dict) -> list[Candidate]:
    """One item per village and kind 未报送 for the month (the completeness metric
    decides: no rows, no 零报告, past the configured day)."""
    rows = completeness(con, month, month).filter(pl.col("status") == UNREPORTED)
    out = []
    for r in rows.iter_rows(named=True):
        kind = KINDS[r["kind"]].label
        key = f"unreported:{r['village_id']}:{r['kind']}:{month:%Y-%m}"
        out.append(
            Candidate(
                "unreported",
                key,
                key,
                month,
                r["village_id"],
                None,
                f"{r['village_name']}{month_label(month)}的{kind}未报送，请尽快上传（或申报零报告）。",
                *_owned(by_village.get(r["village_id"])),
                VILLAGE_OWNER,
            )
        )
    return out
