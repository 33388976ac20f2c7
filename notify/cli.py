"""``python -m notify --due``: send today's reminders, for cron or a systemd timer
(docs/cli.md).

    python -m notify --due [--dry-run] [--db PATH]

Finds what is due (:mod:`notify.reminders`), queues each message once per channel
(the outbox refuses a message it has seen: running twice a day sends nothing twice),
then sends every pending or failed message with retries (:mod:`notify.outbox`).
``--dry-run`` prints what would be queued and changes nothing. While the dashboard
holds the database the run is handed over to it (store.handover), with this
process's ``GRID_*`` environment for the channels' secrets. Exit codes: 0 done (or
nothing to do), 1 a message failed (kept for the next run) or bad configuration,
2 usage error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from notify.outbox import deliver, queue
from notify.reminders import due_reminders
from notify.settings import load_settings
from store.clock import today_local
from store.command_line import CommandParser, UsageError, finish, usage_reply
from store.handover import Reply, run_command
from store.paths import private_files, resolve_db_path
from store.toml_config import ConfigError

COMMAND = "notify"
ENV_PREFIX = "GRID_"  # what a handed-over run brings along: the secrets' variables


def build_parser() -> CommandParser:
    parser = CommandParser(prog="python -m notify", description="督办提醒与月度通报推送")
    parser.add_argument("--due", action="store_true", help="发送今天到期的提醒（定时任务用）")
    parser.add_argument("--dry-run", action="store_true", help="只列出将要发送的提醒，不发送")
    parser.add_argument("--db", help="数据库路径（默认 $GRID_DB 或 data/grid.duckdb）")
    return parser


def _parsed(argv: list[str]):
    args = build_parser().parse_args(argv)
    if not args.due:
        raise UsageError("参数错误：请指定 --due（发送今天到期的提醒）")
    return args


def work(con: duckdb.DuckDBPyConnection, args, environ) -> Reply:
    """Queue and send today's reminders on ``con``."""
    try:
        settings = load_settings(environ=environ)
    except ConfigError as exc:
        return Reply(1, err=f"{exc}\n")
    today = today_local()
    reminders = due_reminders(con, settings, today)
    if args.dry_run:
        lines = [f"今天（{today:%Y-%m-%d}）到期的提醒 {len(reminders)} 条（试运行，未发送）："]
        for r in reminders:
            names = "、".join(settings.channel_names(r.event, r.village_id)) or "（无启用的渠道）"
            lines.append(f"{r.message.subject} → {names}")
        return Reply(0, out="\n".join(lines) + "\n")
    queued = sum(
        queue(con, r.event, r.dedupe_key, name, r.message)
        for r in reminders
        for name in settings.channel_names(r.event, r.village_id)
    )
    done = deliver(con, settings.channels, settings.retry)
    out = (
        f"新排队 {queued} 条；发送成功 {done.sent} 条，失败 {done.failed} 条"
        f"（下次运行时重试），放弃 {done.abandoned} 条，渠道未启用 {done.skipped} 条。\n"
    )
    return Reply(1 if done.failed else 0, out=out)


def handed_over(con: duckdb.DuckDBPyConnection, argv: list[str], env: dict[str, str]) -> Reply:
    """The command run in the dashboard's process, with the caller's ``GRID_*``
    environment (the secrets the caller was given, not the dashboard's)."""
    try:
        args = _parsed(argv)
    except UsageError as exc:
        return usage_reply(exc)
    return work(con, args, env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    private_files()
    try:
        args = _parsed(argv)
    except UsageError as exc:
        return finish(usage_reply(exc))
    db = Path(resolve_db_path(args.db))
    if not db.is_file():
        return finish(
            Reply(2, err=f"找不到数据库：{db}（请先运行 python -m etl init，或用 --db 指定）\n")
        )
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    return finish(run_command(db, COMMAND, argv, lambda con: work(con, args, os.environ), env=env))
