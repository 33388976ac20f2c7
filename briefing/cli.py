"""``python -m briefing``: the 月度通报 / 半年通报 as a PDF or XLSX file (docs/cli.md).

    python -m briefing --period 2026-11|2026H2 [--village ID] --out FILE.pdf|FILE.xlsx
        [--db PATH] [--user NAME]

The file type follows ``--out``'s suffix. Personal names (the owners of alerts and
督办 items) are masked unless ``--user`` names a dashboard user who sees names (镇办人员,
村居书记); a 村居书记 gets their own village only. While the dashboard holds the
database the work is handed over to it (store.handover) and this command writes the
file it sends back. Exit codes: 0 written, 1 no data for the period (or the database,
configuration or font failed), 2 usage error.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from auth.store import UserStore, UserStoreError
from briefing.content import NoData, build
from briefing.fonts import FontMissing
from briefing.period import PeriodError, parse_period
from briefing.typeset import render_pdf
from briefing.workbook import render_xlsx
from metrics.scope import ScopeDenied, allowed_village, restricted_to
from store.command_line import CommandParser, UsageError, finish, usage_reply
from store.database import run_sql
from store.handover import Reply, run_command
from store.paths import private_files, resolve_db_path
from store.person_names import mask_name
from store.toml_config import ConfigError

COMMAND = "briefing"
RENDERERS = {".pdf": render_pdf, ".xlsx": render_xlsx}


def build_parser() -> CommandParser:
    parser = CommandParser(prog="python -m briefing", description="网格化党建月度/半年通报")
    parser.add_argument("--period", required=True, help="月份 YYYY-MM 或半年 YYYYH1/YYYYH2")
    parser.add_argument("--village", help="只含一个村居（村居编号）")
    parser.add_argument("--out", required=True, help="输出文件（.pdf 或 .xlsx）")
    parser.add_argument("--db", help="数据库路径（默认 $GRID_DB 或 data/grid.duckdb）")
    parser.add_argument("--user", help="按该看板用户的权限生成（范围与姓名显示）")
    return parser


def _checked(argv: list[str]):
    """The parsed arguments, with the period parsed and the user's scope and name
    policy applied; UsageError otherwise."""
    args = build_parser().parse_args(argv)
    try:
        args.period = parse_period(args.period)
    except PeriodError as exc:
        raise UsageError(f"参数错误：{exc}") from None
    suffix = Path(args.out).suffix.lower()
    if suffix not in RENDERERS:
        raise UsageError(f"参数错误：--out 应以 .pdf 或 .xlsx 结尾，实际为 {args.out!r}")
    args.scope, args.sees_names = None, False
    if args.user:
        try:
            user = UserStore.load().user(args.user)
        except UserStoreError as exc:
            raise UsageError(f"参数错误：{exc}") from None
        if user is None or "overview" not in user.pages:
            raise UsageError(f"参数错误：没有可查看数据的看板用户 {args.user}")
        args.scope, args.sees_names = user.village_scope, user.sees_names
    try:
        with restricted_to(args.scope):
            args.village = allowed_village(args.village)
    except ScopeDenied as exc:
        raise UsageError(f"无权访问：{exc}") from None
    return args


def work(con: duckdb.DuckDBPyConnection, args) -> Reply:
    """Build and render the briefing on ``con`` (here, or in the dashboard's process)."""
    if args.village and not run_sql(
        con, "SELECT 1 FROM village WHERE village_id = ?", [args.village]
    ):
        return Reply(2, err=f"参数错误：未知的村居编号 {args.village}\n")
    started = time.perf_counter()
    names = (lambda n: n or "") if args.sees_names else mask_name
    try:
        with restricted_to(args.scope):
            briefing = build(con, args.period, args.village, names=names)
        data = RENDERERS[Path(args.out).suffix.lower()](briefing)
    except NoData as exc:
        return Reply(1, err=f"{exc}没有生成文件。\n")
    except (FontMissing, ConfigError) as exc:
        return Reply(1, err=f"{exc}\n")
    seconds = time.perf_counter() - started
    done = f"已生成 {briefing.title}（{briefing.scope} · {briefing.period}）：{args.out}"
    size = f"{len(data) / 1024:.0f} KB，用时 {seconds:.1f} 秒"
    return Reply(0, out=f"{done}（{size}）\n", files={args.out: data})


def handed_over(con: duckdb.DuckDBPyConnection, argv: list[str], env: dict[str, str]) -> Reply:
    """The command run in the dashboard's process on its connection."""
    try:
        return work(con, _checked(argv))
    except UsageError as exc:
        return usage_reply(exc)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    private_files()
    try:
        args = _checked(argv)
    except UsageError as exc:
        return finish(usage_reply(exc))
    out_dir = Path(args.out).resolve().parent
    if not out_dir.is_dir():
        return finish(Reply(2, err=f"参数错误：输出目录不存在：{out_dir}\n"))
    db = Path(resolve_db_path(args.db))
    if not db.is_file():
        return finish(
            Reply(2, err=f"找不到数据库：{db}（请先运行 python -m etl init，或用 --db 指定）\n")
        )
    return finish(run_command(db, COMMAND, argv, lambda con: work(con, args), read_only=True))
