"""Which reminders are due today, as messages (the outbox sends them, notify.outbox).

* ``due_soon`` — per village, its 督办 items still 待办 whose deadline is within
  ``due_soon_days``; once a day;
* ``overdue`` — per village, its items past the deadline without feedback; once a day
  (every day they stay overdue: the point of a reminder);
* ``unreported`` — each 未报送 item, once, when the sweep has opened it (the
  completeness metric decides when a missing file is 未报送: after the deadline day);
* ``briefing`` — from ``briefing_day`` of a month on, last month's town briefing as a
  PDF attachment (e-mail) or a link (robots), once per month.

The dedupe key of each says how often it may go out; the outbox refuses a key it has
seen for a channel. Messages name units and posts, not persons: they go to groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from briefing.content import NoData, build
from briefing.period import parse_period
from briefing.typeset import render_pdf
from notify.channels import Attachment, Message
from notify.outbox import already_queued
from notify.settings import NotifySettings
from store.months import add_months, month_key
from store.person_names import mask_name
from supervise.items import items
from supervise.tables import OPEN, OVERDUE

MAX_LINES = 15


@dataclass(frozen=True)
class Reminder:
    """One message for the channels of ``event`` (and of ``village_id``'s group)."""

    event: str
    dedupe_key: str
    village_id: str | None
    message: Message


def _link(settings: NotifySettings, village_id: str | None) -> str | None:
    if not settings.dashboard_url:
        return None
    base = settings.dashboard_url.rstrip("/") + "/supervision"
    return f"{base}?village={village_id}" if village_id else base


def _line(item: dict) -> str:
    owner = item["owner_role"] or "责任人"
    return (
        f"- #{item['item_id']} {item['source_label']}：{item['subject']}"
        f"（{owner}，截止 {item['deadline']:%-m月%-d日}）"
    )


def _lines(rows: pl.DataFrame) -> str:
    lines = [_line(r) for r in rows.head(MAX_LINES).iter_rows(named=True)]
    if rows.height > MAX_LINES:
        lines.append(f"……等共 {rows.height} 件，请在看板“督办”页查看。")
    return "\n".join(lines)


def item_reminders(
    con: duckdb.DuckDBPyConnection, settings: NotifySettings, today: date
) -> list[Reminder]:
    """The due-soon, overdue and 未报送 reminders of ``today``."""
    pending = items(con, status="未办结", today=today)
    out: list[Reminder] = []
    late = pending.filter(pl.col("status").is_in([OPEN, OVERDUE]), pl.col("days_left") < 0)
    soon = pending.filter(
        pl.col("status") == OPEN, pl.col("days_left").is_between(0, settings.due_soon_days)
    )
    for event, rows, words in (
        ("overdue", late, "件督办事项已逾期"),
        ("due_soon", soon, f"件督办事项将于 {settings.due_soon_days} 天内到期"),
    ):
        for (village_id, village), group in rows.sort("deadline", "item_id").group_by(
            "village_id", "village_name", maintain_order=True
        ):
            out.append(
                Reminder(
                    event,
                    f"{event}:{village_id}:{today:%Y-%m-%d}",
                    village_id,
                    Message(
                        f"【督办提醒】{village} {group.height} {words}",
                        _lines(group),
                        _link(settings, village_id),
                    ),
                )
            )
    for item in pending.filter(pl.col("source") == "unreported").iter_rows(named=True):
        out.append(
            Reminder(
                "unreported",
                f"unreported:{item['item_id']}",
                item["village_id"],
                Message(
                    f"【未报送提醒】{item['village_name']}",
                    _line(item),
                    _link(settings, item["village_id"]),
                ),
            )
        )
    return out


def briefing_reminder(
    con: duckdb.DuckDBPyConnection, settings: NotifySettings, today: date
) -> Reminder | None:
    """Last month's town briefing, from ``briefing_day`` on, once (None: not due, sent
    already, or no data for last month). Names in it are masked: it goes to groups."""
    if today.day < settings.briefing_day:
        return None
    period = parse_period(month_key(add_months(today.replace(day=1), -1)))
    key = f"briefing:{period.key}"
    if already_queued(con, key):
        return None
    try:
        briefing = build(con, period, names=mask_name)
    except NoData:
        return None
    name = f"{briefing.title}（{period.label}）"
    return Reminder(
        "briefing",
        key,
        None,
        Message(
            f"【{briefing.title}】{period.label}",
            "\n".join(f"- {point}" for point in briefing.key_points),
            settings.dashboard_url,
            (Attachment(f"{name}.pdf", render_pdf(briefing)),),
        ),
    )


def due_reminders(
    con: duckdb.DuckDBPyConnection, settings: NotifySettings, today: date
) -> list[Reminder]:
    """Everything due today, items first."""
    found = item_reminders(con, settings, today)
    briefing = briefing_reminder(con, settings, today)
    return [*found, briefing] if briefing else found
