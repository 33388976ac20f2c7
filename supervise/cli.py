"""``python -m supervise``: the 督办 sweep for cron, and the items as JSON/CSV (docs/cli.md).

    python -m supervise sweep [--db PATH] [--month YYYY-MM]
    python -m supervise list [--db PATH] [--status S] [--village ID] [--source S]
        [--format json|csv]

``sweep`` opens an item for every new overdue report, red alert, member not reached
and 未报送 of the latest data month (or ``--month``) and marks the items past their
deadline 已逾期; running it twice opens nothing twice. ``list`` prints ``item_id,
source, village_id, subgrid_id, owner, opened_at, deadline, status``. While the
dashboard holds the database, both are handed over to it (store.handover). Exit
codes: 0 done, 1 bad configuration or unreadable database, 2 usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import polars as pl

from store.command_line import CommandParser, UsageError, finish, usage_reply
from store.database import run_sql
from store.handover import Reply, run_command
from store.months import MonthError, month_label, parse_month
from store.paths import private_files, resolve_db_path
from store.toml_config import ConfigError
from supervise.config import load_config
from supervise.items import items
from supervise.tables import SOURCES, STATUSES
from supervise.writer import sweep

COMMAND = "supervise"
LIST_FIELDS = (
    "item_id",
    "source",
    "village_id",
    "subgrid_id",
    "owner",
    "opened_at",
    "deadline",
    "status",
)


def build_parser() -> CommandParser:
    parser = CommandParser(prog="python -m supervise", description="督办事项：扫描立项与清单")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    run = commands.add_parser("sweep", help="为新的超期、红色预警、未参学、未报送立项")
    run.add_argument("--db", help="数据库路径（默认 $GRID_DB 或 data/grid.duckdb）")
    run.add_argument("--month", help="扫描的数据月份 YYYY-MM（默认最近一个有数据的月份）")
    listing = commands.add_parser("list", help="督办事项清单（JSON/CSV）")
    listing.add_argument("--db", help="数据库路径（默认 $GRID_DB 或 data/grid.duckdb）")
    listing.add_argument("--status", choices=(*STATUSES, "未办结"), help="只列该状态")
    listing.add_argument("--village", help="只列一个村居（村居编号）")
    listing.add_argument("--source", choices=list(SOURCES), help="只列该来源")
    listing.add_argument("--format", choices=("json", "csv"), default="json")
    return parser


def work(con: duckdb.DuckDBPyConnection, args) -> Reply:
    """Run the parsed command on ``con`` (here, or in the dashboard's process)."""
    try:
        if args.command == "sweep":
            return _sweep(con, args)
        return _list(con, args)
    except ConfigError as exc:
        return Reply(1, err=f"{exc}\n")
    except MonthError as exc:
        return Reply(2, err=f"参数错误：{exc}\n")


def _sweep(con: duckdb.DuckDBPyConnection, args) -> Reply:
    month = parse_month(args.month) if args.month else None
    result = sweep(con, month=month, config=load_config())
    if result.month is None:
        return Reply(0, out="数据库中还没有任何月份的数据，没有立项。\n")
    parts = "、".join(f"{SOURCES[s]} {n}" for s, n in result.opened.items() if s != "manual")
    lines = [
        f"已扫描 {month_label(result.month)}：新立项 {sum(result.opened.values())} 件（{parts}）",
        f"转为已逾期 {result.became_overdue} 件",
        f"未重复立项：同一事项仍在办 {result.already_open} 件，已立项过 {result.seen_before} 件",
    ]
    return Reply(0, out="\n".join(lines) + "\n")


def _list(con: duckdb.DuckDBPyConnection, args) -> Reply:
    if args.village and not run_sql(
        con, "SELECT 1 FROM village WHERE village_id = ?", [args.village]
    ):
        return Reply(2, err=f"参数错误：未知的村居编号 {args.village}\n")
    frame = items(con, args.village, status=args.status, source=args.source).select(
        pl.col("item_id"),
        pl.col("source"),
        pl.col("village_id"),
        pl.col("subgrid_id"),
        pl.col("owner"),
        pl.col("opened_at").dt.strftime("%Y-%m-%d %H:%M:%S"),
        pl.col("deadline").dt.strftime("%Y-%m-%d"),
        pl.col("status"),
    )
    if args.format == "csv":
        return Reply(0, out=frame.write_csv())
    return Reply(0, out=json.dumps(frame.to_dicts(), ensure_ascii=False) + "\n")


def handed_over(con: duckdb.DuckDBPyConnection, argv: list[str], env: dict[str, str]) -> Reply:
    """The command run in the dashboard's process on its connection."""
    try:
        return work(con, build_parser().parse_args(argv))
    except UsageError as exc:
        return usage_reply(exc)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    private_files()
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return finish(usage_reply(exc))
    db = Path(resolve_db_path(args.db))
    if not db.is_file():
        return finish(
            Reply(2, err=f"找不到数据库：{db}（请先运行 python -m etl init，或用 --db 指定）\n")
        )
    # Handed over, --db travels along unused: the dashboard serves this very database.
    reading = args.command == "list"
    return finish(run_command(db, COMMAND, argv, lambda con: work(con, args), read_only=reading))
