"""Every write to the 督办 tables: the sweep, and what people do on the 督办 page.

Why here and not in :mod:`etl` (docs/decisions/0013-supervision-items-have-their-own-writer.md):
督办 items are the follow-up of the data, written by people and by the sweep, like the
audit log and the notification outbox; ``etl`` writes the facts of uploaded files.

Each change is one transaction that updates the item and appends its history row
(``supervision_event``), under :data:`WRITE_LOCK` so that two sessions of the
dashboard never race on one item. Who may do what (checked here, whatever the page
shows): 镇办人员 open, assign, extend, close and may record feedback; a 村居书记 gives
feedback on the items of their own village only; nobody else writes. A refused or
invalid request raises :class:`SupervisionError` (Chinese) and changes nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from auth.roles import OFFICE, SECRETARY, User
from store.clock import now_local, today_local
from store.database import run_sql, transaction
from supervise.config import SuperviseConfig, load_config
from supervise.sources import Candidate, candidates, latest_month
from supervise.tables import (
    ANSWERED,
    CLOSED,
    NOT_CLOSED,
    OPEN,
    OVERDUE,
    SOURCES,
    create_tables,
)

WRITE_LOCK = threading.Lock()
SWEEP_USER = "定时扫描"
MAX_TEXT = 500


class SupervisionError(ValueError):
    """A 督办 request that is not allowed or not valid (message in Chinese)."""


@dataclass
class SweepResult:
    """What one sweep did."""

    month: date | None
    opened: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    already_open: int = 0  # a candidate whose topic has an item still open
    seen_before: int = 0  # a candidate whose fact already had an item (open or closed)
    became_overdue: int = 0


# ------------------------------------------------------------------ the sweep


def sweep(
    con: duckdb.DuckDBPyConnection,
    *,
    today: date | None = None,
    month: date | None = None,
    config: SuperviseConfig | None = None,
) -> SweepResult:
    """Open an item for every new candidate of ``month`` (default: the latest data
    month) and mark the items past their deadline without feedback 已逾期.

    Idempotent: a second run on the same data opens nothing."""
    today = today or today_local()
    config = config or load_config()
    month = month or latest_month(con)
    found = candidates(con, month) if month else []
    result = SweepResult(month)
    with WRITE_LOCK, transaction(con):
        create_tables(con)
        seen = {r[0] for r in run_sql(con, "SELECT source_key FROM supervision_item")}
        busy = {
            r[0]
            for r in run_sql(
                con,
                "SELECT topic_key FROM supervision_item WHERE list_contains(?, status)",
                [list(NOT_CLOSED)],
            )
        }
        item_id = _next_id(con)
        for candidate in found:
            if candidate.source_key in seen:
                result.seen_before += 1
                continue
            if candidate.topic_key in busy:
                result.already_open += 1
                continue
            deadline = today + timedelta(days=config.deadline_days[candidate.source])
            _insert(con, item_id, candidate, deadline, SWEEP_USER)
            seen.add(candidate.source_key)
            busy.add(candidate.topic_key)
            result.opened[candidate.source] += 1
            item_id += 1
        result.became_overdue = _mark_overdue(con, today)
    return result


def _next_id(con: duckdb.DuckDBPyConnection) -> int:
    return run_sql(con, "SELECT coalesce(max(item_id), 0) + 1 FROM supervision_item")[0][0]


def _insert(con, item_id: int, c: Candidate, deadline: date, user: str) -> None:
    now = now_local()
    run_sql(
        con,
        "INSERT INTO supervision_item (item_id, source, source_key, topic_key, month, "
        "village_id, subgrid_id, subject, owner_id, owner_name, owner_role, "
        "opened_at, opened_by, deadline, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            item_id,
            c.source,
            c.source_key,
            c.topic_key,
            c.month,
            c.village_id,
            c.subgrid_id,
            c.subject,
            c.owner_id,
            c.owner_name,
            c.owner_role,
            now,
            user,
            deadline,
            OPEN,
        ],
    )
    _event(con, item_id, user, "opened", f"截止 {deadline:%Y-%m-%d}")


def _mark_overdue(con: duckdb.DuckDBPyConnection, today: date) -> int:
    """待办 items past their deadline become 已逾期 (an answered item waits for the
    office, not for the village, so it does not)."""
    late = run_sql(
        con,
        "SELECT item_id, deadline FROM supervision_item WHERE status = ? AND deadline < ?",
        [OPEN, today],
    )
    for item_id, deadline in late:
        run_sql(con, "UPDATE supervision_item SET status = ? WHERE item_id = ?", [OVERDUE, item_id])
        _event(con, item_id, SWEEP_USER, "overdue", f"已过截止日 {deadline:%Y-%m-%d}")
    return len(late)


def _event(con, item_id: int, user: str, action: str, detail: str = "") -> None:
    run_sql(
        con,
        "INSERT INTO supervision_event VALUES (?, ?, ?, ?, ?)",
        [item_id, now_local(), user, action, detail],
    )


# ------------------------------------------------------------------ people's changes


def _office_only(user: User, what: str) -> None:
    if user.role != OFFICE:
        raise SupervisionError(f"只有镇办人员可以{what}督办事项（当前角色：{user.role}）。")


def _item(con, item_id: int) -> dict:
    rows = con.execute(
        "SELECT item_id, village_id, status, deadline FROM supervision_item WHERE item_id = ?",
        [item_id],
    ).fetchall()
    if not rows:
        raise SupervisionError(f"没有编号为 {item_id} 的督办事项。")
    return dict(zip(("item_id", "village_id", "status", "deadline"), rows[0], strict=True))


def _text(text: str | None, what: str, required: bool = True) -> str:
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise SupervisionError(f"请填写{what}。")
    if len(cleaned) > MAX_TEXT:
        raise SupervisionError(f"{what}不能超过 {MAX_TEXT} 字（现为 {len(cleaned)} 字）。")
    return cleaned


def _changing(con, item_id: int):
    """The item, locked against other writers, after checking that it is still open."""
    item = _item(con, item_id)
    if item["status"] == CLOSED:
        raise SupervisionError(f"督办事项 {item_id} 已办结，不能再修改。")
    return item


def _person(con, person_id: str, village_id: str) -> tuple[str, str]:
    rows = run_sql(
        con,
        "SELECT name, role FROM person WHERE person_id = ? AND village_id = ? "
        "AND (active_to IS NULL OR active_to >= ?)",
        [person_id, village_id, today_local()],
    )
    if not rows:
        raise SupervisionError(f"人员 {person_id} 不在该村居的在册名单中，不能作为责任人。")
    return rows[0]


def open_item(
    con: duckdb.DuckDBPyConnection,
    user: User,
    *,
    village_id: str,
    subject: str,
    owner_id: str,
    subgrid_id: str | None = None,
    deadline: date | None = None,
    config: SuperviseConfig | None = None,
) -> int:
    """Open a 交办 item by hand (镇办人员); returns its number."""
    _office_only(user, "交办")
    config = config or load_config()
    subject = _text(subject, "督办内容")
    today = today_local()
    deadline = deadline or today + timedelta(days=config.deadline_days["manual"])
    _check_deadline(deadline, today, config)
    with WRITE_LOCK, transaction(con):
        create_tables(con)
        name, role = _person(con, owner_id, village_id)
        item_id = _next_id(con)
        key = f"manual:{item_id}"
        candidate = Candidate(
            "manual", key, key, None, village_id, subgrid_id, subject, owner_id, name, role
        )
        _insert(con, item_id, candidate, deadline, user.username)
    return item_id


def _check_deadline(deadline: date, today: date, config: SuperviseConfig) -> None:
    if deadline < today:
        raise SupervisionError(f"截止日期 {deadline:%Y-%m-%d} 早于今天，请重新选择。")
    latest = today + timedelta(days=config.max_extension_days)
    if deadline > latest:
        raise SupervisionError(
            f"截止日期最晚为 {latest:%Y-%m-%d}（今天起 {config.max_extension_days} 天）。"
        )


def assign(con: duckdb.DuckDBPyConnection, user: User, item_id: int, owner_id: str) -> None:
    """Make ``owner_id`` (someone on the item's village roll) the item's owner."""
    _office_only(user, "指定责任人")
    with WRITE_LOCK, transaction(con):
        create_tables(con)
        item = _changing(con, item_id)
        name, role = _person(con, owner_id, item["village_id"])
        run_sql(
            con,
            "UPDATE supervision_item SET owner_id = ?, owner_name = ?, owner_role = ? "
            "WHERE item_id = ?",
            [owner_id, name, role, item_id],
        )
        _event(con, item_id, user.username, "assigned", f"责任人编号 {owner_id}（{role}）")


def extend(
    con: duckdb.DuckDBPyConnection,
    user: User,
    item_id: int,
    deadline: date,
    config: SuperviseConfig | None = None,
) -> None:
    """Move the deadline later; an 已逾期 item given a future deadline is 待办 again."""
    _office_only(user, "延期")
    config = config or load_config()
    today = today_local()
    with WRITE_LOCK, transaction(con):
        create_tables(con)
        item = _changing(con, item_id)
        if deadline <= item["deadline"]:
            raise SupervisionError(f"新的截止日期应晚于原截止日期 {item['deadline']:%Y-%m-%d}。")
        _check_deadline(deadline, today, config)
        status = OPEN if item["status"] == OVERDUE else item["status"]
        run_sql(
            con,
            "UPDATE supervision_item SET deadline = ?, status = ? WHERE item_id = ?",
            [deadline, status, item_id],
        )
        _event(
            con,
            item_id,
            user.username,
            "extended",
            f"{item['deadline']:%Y-%m-%d} → {deadline:%Y-%m-%d}",
        )


def answer(con: duckdb.DuckDBPyConnection, user: User, item_id: int, text: str) -> None:
    """Record the village's feedback (its 村居书记, or the office on its behalf)."""
    text = _text(text, "反馈内容")
    with WRITE_LOCK, transaction(con):
        create_tables(con)
        item = _changing(con, item_id)
        own = user.role == SECRETARY and user.village_id == item["village_id"]
        if user.role != OFFICE and not own:
            raise SupervisionError("只能对本村居的督办事项填写反馈。")
        run_sql(
            con,
            "UPDATE supervision_item SET status = ?, feedback = ?, feedback_by = ?, "
            "feedback_at = ? WHERE item_id = ?",
            [ANSWERED, text, user.username, now_local(), item_id],
        )
        _event(con, item_id, user.username, "feedback", text)


def close(
    con: duckdb.DuckDBPyConnection, user: User, item_id: int, note: str | None = None
) -> None:
    """Close the item (镇办人员), with an optional note."""
    _office_only(user, "办结")
    note = _text(note, "办结说明", required=False)
    with WRITE_LOCK, transaction(con):
        create_tables(con)
        _changing(con, item_id)
        run_sql(
            con,
            "UPDATE supervision_item SET status = ?, closed_by = ?, closed_at = ?, "
            "closing_note = ? WHERE item_id = ?",
            [CLOSED, user.username, now_local(), note or None, item_id],
        )
        _event(con, item_id, user.username, "closed", note)
