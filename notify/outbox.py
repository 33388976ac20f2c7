"""The outbox: every notification is logged before it is sent, and kept until it is.

``queue`` writes a message for a channel into ``notify_log`` (attachments into
``notify_attachment``) unless the same ``dedupe_key`` was queued for that channel
before — so running the reminders twice on one day sends nothing twice. ``deliver``
sends what is pending or failed: up to ``retry.attempts`` tries per run with a delay
doubling from ``retry.first_delay_seconds``; a message that still fails stays
``failed`` (with its last error and attempt count) and is tried again by the next
run, until ``retry.give_up_after_hours`` after it was queued (then ``abandoned``).
Nothing is lost: a failed send is a row, not an exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from notify.channels import Attachment, Channel, Message, SendFailed
from notify.settings import Retry
from store.clock import now_local
from store.database import run_sql, transaction

LOG_DDL = """CREATE TABLE IF NOT EXISTS notify_log (
    message_id BIGINT PRIMARY KEY,
    queued_at TIMESTAMP NOT NULL,
    event VARCHAR NOT NULL,
    dedupe_key VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    link VARCHAR,
    status VARCHAR NOT NULL,  -- pending | sent | failed | abandoned
    attempts INTEGER NOT NULL,
    last_error VARCHAR,
    sent_at TIMESTAMP,
    UNIQUE (channel, dedupe_key)
)"""
ATTACHMENT_DDL = """CREATE TABLE IF NOT EXISTS notify_attachment (
    message_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    mime VARCHAR NOT NULL,
    data BLOB NOT NULL
)"""
STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "abandoned": "已放弃"}


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LOG_DDL)
    con.execute(ATTACHMENT_DDL)


def queue(
    con: duckdb.DuckDBPyConnection,
    event: str,
    dedupe_key: str,
    channel: str,
    message: Message,
) -> bool:
    """Log ``message`` for ``channel`` as pending; False when that key was queued before."""
    create_tables(con)
    with transaction(con):
        seen = run_sql(
            con,
            "SELECT 1 FROM notify_log WHERE channel = ? AND dedupe_key = ?",
            [channel, dedupe_key],
        )
        if seen:
            return False
        message_id = run_sql(con, "SELECT coalesce(max(message_id), 0) + 1 FROM notify_log")[0][0]
        run_sql(
            con,
            "INSERT INTO notify_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, NULL, NULL)",
            [
                message_id,
                now_local(),
                event,
                dedupe_key,
                channel,
                message.subject,
                message.text,
                message.link,
            ],
        )
        for attachment in message.attachments:
            run_sql(
                con,
                "INSERT INTO notify_attachment VALUES (?, ?, ?, ?)",
                [message_id, attachment.name, attachment.mime, attachment.data],
            )
    return True


def already_queued(con: duckdb.DuckDBPyConnection, dedupe_key: str) -> bool:
    """Whether a message with ``dedupe_key`` was queued before, for any channel (so a
    briefing PDF is not built again just to be refused by :func:`queue`)."""
    create_tables(con)
    return bool(run_sql(con, "SELECT 1 FROM notify_log WHERE dedupe_key = ?", [dedupe_key]))


@dataclass
class Delivery:
    """What one ``deliver`` run did."""

    sent: int = 0
    failed: int = 0
    abandoned: int = 0
    skipped: int = 0  # for a channel that is not configured or not enabled


def _message(con: duckdb.DuckDBPyConnection, message_id: int, row: tuple) -> Message:
    subject, body, link = row
    files = run_sql(
        con,
        "SELECT name, mime, data FROM notify_attachment WHERE message_id = ? ORDER BY name",
        [message_id],
    )
    return Message(subject, body, link, tuple(Attachment(n, bytes(d), m) for n, m, d in files))


def deliver(
    con: duckdb.DuckDBPyConnection,
    channels: dict[str, Channel],
    retry: Retry,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = now_local,
) -> Delivery:
    """Send every pending or failed message, oldest first, through its channel."""
    create_tables(con)
    outcome = Delivery()
    rows = run_sql(
        con,
        "SELECT message_id, channel, queued_at, attempts, subject, body, link FROM notify_log "
        "WHERE status IN ('pending', 'failed') ORDER BY message_id",
    )
    for message_id, name, queued_at, attempts, *content in rows:
        if clock() - queued_at > timedelta(hours=retry.give_up_after_hours):
            _set(con, message_id, "abandoned", attempts, "超过重试期限，已放弃")
            outcome.abandoned += 1
            continue
        channel = channels.get(name)
        if channel is None:
            outcome.skipped += 1
            continue
        status, tries, error = _send_with_retries(
            channel, _message(con, message_id, tuple(content)), retry, sleep
        )
        _set(con, message_id, status, attempts + tries, error, clock() if error is None else None)
        if status == "sent":
            outcome.sent += 1
        else:
            outcome.failed += 1
    return outcome


def _send_with_retries(
    channel: Channel, message: Message, retry: Retry, sleep: Callable[[float], None]
) -> tuple[str, int, str | None]:
    """(status, tries made, last error) of sending one message in this run."""
    delay, error = retry.first_delay_seconds, None
    for attempt in range(1, retry.attempts + 1):
        try:
            channel.send(message)
            return "sent", attempt, None
        except SendFailed as exc:
            error = str(exc)
            if not exc.retry:
                return "failed", attempt, error
        if attempt < retry.attempts:
            sleep(delay)
            delay *= 2
    return "failed", retry.attempts, error


def _set(
    con: duckdb.DuckDBPyConnection,
    message_id: int,
    status: str,
    attempts: int,
    error: str | None,
    sent_at: datetime | None = None,
) -> None:
    run_sql(
        con,
        "UPDATE notify_log SET status = ?, attempts = ?, last_error = ?, sent_at = ? "
        "WHERE message_id = ?",
        [status, attempts, error, sent_at, message_id],
    )
