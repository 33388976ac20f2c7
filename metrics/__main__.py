"""``python -m metrics``: the numbers the pages show, as JSON or CSV (see docs/cli.md).

    python -m metrics {coverage,study,response,indices,vanguard,assessment} [--db PATH]
        --from YYYY-MM --to YYYY-MM [--level town|village|subgrid] [--village ID]
        [--format json|csv] [--user NAME]

``--user`` applies that dashboard user's village scope and role (a 村居书记 gets their
own village only; another ``--village`` is refused; a 管理员 gets no data). It is not
a sign-in: whoever can run this command can read the database file anyway; it lets the
office produce exactly what a user may see.

Prints a list of records with exactly the field names of docs/cli.md (JSON: UTF-8,
not escaped; months as ``YYYY-MM``). Exit codes: 0 printed, 1 bad configuration or
unreadable database, 2 usage error (including a missing database).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from auth.store import UserStore
from metrics.alerts import alerts
from metrics.assessment import assessment
from metrics.completeness import completeness_records
from metrics.config import load_config
from metrics.coverage import coverage_by_month
from metrics.duties import person_duties
from metrics.filters import LEVELS, Filter, FilterError
from metrics.indices import indices
from metrics.member_vanguard import member_vanguard
from metrics.places import place_usage
from metrics.procedure_config import procedure_config
from metrics.procedures import procedure_stages
from metrics.response import response_summary
from metrics.scope import ScopeDenied, allowed_filter, restricted_to
from metrics.study import study_by_month
from metrics.team import team_fulfilment
from metrics.volunteers import volunteer_summary
from store.database import connect
from store.duty_catalogue import read_catalogue
from store.months import month_key_expr
from store.paths import resolve_db_path
from store.toml_config import ConfigError

# Each command: the function giving its rows and its documented field names, in order.
COMMANDS: dict[str, tuple[Callable[..., pl.DataFrame], tuple[str, ...]]] = {
    "coverage": (coverage_by_month, ("unit_id", "month", "due", "met", "coverage", "reported")),
    "study": (
        study_by_month,
        ("unit_id", "month", "members", "reached", "reached_home", "coverage", "reported"),
    ),
    "response": (
        response_summary,
        (
            "unit_id",
            "category",
            "reports",
            "resolved",
            "accept_median_h",
            "accept_p90_h",
            "resolve_median_h",
            "resolve_p90_h",
            "on_time_accept_rate",
            "on_time_resolve_rate",
            "open_at_end",
        ),
    ),
    "indices": (
        indices,
        ("unit_id", "fortress_index", "vanguard_index", "stars", "surveyed", "reported"),
    ),
    "alerts": (
        alerts,
        ("village_id", "subgrid_id", "kpi", "level", "value", "threshold", "owner", "message"),
    ),
    # Per party member, pooled over the range (the official period is the half-year).
    "vanguard": (
        member_vanguard,
        (
            "person_id",
            "subgrid_id",
            "attendance",
            "study",
            "contribution",
            "survey",
            "deductions",
            "vanguard_index",
            "grade",
        ),
    ),
    # Per village, month and kind whatever --level says (报送情况 is a village's duty).
    "completeness": (
        completeness_records,
        ("village_id", "month", "kind", "status", "first_upload_at"),
    ),
    "assessment": (
        assessment,
        (
            "unit_id",
            "daily_ops",
            "org_life",
            "public_opinion",
            "governance",
            "deductions",
            "total",
            "rank",
            "reported",
        ),
    ),
}

# The four lists' commands (责任清单, 程序清单, 阵地与志愿者, docs/cli.md): each reads
# its own configuration file, whose loader is the third item (None: it has none);
# ``duties`` lists one village's people and needs --village.
LIST_COMMANDS: dict[str, tuple[Callable[..., pl.DataFrame], tuple[str, ...], Callable | None]] = {
    "team": (
        team_fulfilment,
        ("village_id", "role", "people", "vacant", "duties_due", "duties_done", "fulfilment"),
        read_catalogue,
    ),
    "duties": (person_duties, ("person_id", "role", "duty", "due", "done"), read_catalogue),
    "places": (
        place_usage,
        ("place_id", "name", "kind", "village_id", "activities", "participants", "idle_months"),
        procedure_config,
    ),
    "volunteers": (
        volunteer_summary,
        ("unit_id", "kind", "volunteers", "active", "participations"),
        None,
    ),
    "procedures": (
        procedure_stages,
        ("procedure", "stage", "items", "median_days", "overdue"),
        procedure_config,
    ),
}
COMMANDS.update({name: (fn, fields) for name, (fn, fields, _) in LIST_COMMANDS.items()})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2: keep that, in Chinese
        self.print_usage(sys.stderr)
        self.exit(2, f"参数错误：{message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m metrics", description="网格看板指标（JSON/CSV 输出）")
    parser.add_argument("command", choices=list(COMMANDS), help="指标")
    parser.add_argument("--db", help="数据库路径（默认 $GRID_DB 或 data/grid.duckdb）")
    parser.add_argument("--from", dest="start", required=True, help="起始月份 YYYY-MM")
    parser.add_argument("--to", dest="end", required=True, help="截止月份 YYYY-MM")
    parser.add_argument("--level", choices=LEVELS, default="town", help="汇总层级")
    parser.add_argument("--village", help="只看一个村居（村居编号）")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument("--user", help="按该看板用户的权限范围输出（村居书记只含本村居）")
    return parser


def _scope_of(username: str) -> str | None:
    """The village scope of dashboard user ``username``; ScopeDenied if they see no data."""
    store = UserStore.load()
    user = next((u for u in store.users() if u.username == username), None)
    if user is None:
        raise ScopeDenied(f"用户文件 {store.path} 中没有用户 {username}")
    if "overview" not in user.pages:
        raise ScopeDenied(f"用户 {username}（{user.role}）无权查看指标数据")
    return user.village_scope


def records(frame: pl.DataFrame, fields: tuple[str, ...]) -> pl.DataFrame:
    """The documented fields of ``frame`` (docs/cli.md), months as ``YYYY-MM``."""
    out = frame.select(fields)
    if "month" in out.columns:
        out = out.with_columns(month_key_expr("month"))
    return out


def render(frame: pl.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.write_csv()
    rows = frame.to_dicts()
    return json.dumps(rows, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        f = Filter.parse(args.start, args.end, args.level, args.village)
    except FilterError as exc:
        parser.print_usage(sys.stderr)
        print(f"参数错误：{exc}", file=sys.stderr)
        return 2
    try:
        scope = _scope_of(args.user) if args.user else None
        with restricted_to(scope):
            f = allowed_filter(f)
    except ScopeDenied as exc:
        print(f"无权访问：{exc}", file=sys.stderr)
        return 2
    db = Path(resolve_db_path(args.db))
    if not db.is_file():
        print(f"找不到数据库：{db}（请先运行 python -m etl init，或用 --db 指定）", file=sys.stderr)
        return 2
    if args.command == "duties" and f.village_id is None:
        parser.print_usage(sys.stderr)
        print("参数错误：duties 按村居列出人员，请用 --village 指定村居", file=sys.stderr)
        return 2
    try:
        config = load_config()
        own = LIST_COMMANDS.get(args.command, (None, None, None))[2]
        settings = own() if own else None
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        con = connect(db, read_only=True)
    except duckdb.Error as exc:
        print(f"无法打开数据库 {db}：{exc}", file=sys.stderr)
        return 1
    try:
        if (
            f.village_id is not None
            and not con.execute(
                "SELECT 1 FROM village WHERE village_id = ?", [f.village_id]
            ).fetchall()
        ):
            print(f"参数错误：未知的村居编号 {f.village_id}", file=sys.stderr)
            return 2
        function, fields = COMMANDS[args.command]
        with restricted_to(scope):
            if args.command in LIST_COMMANDS:
                rows = function(con, f) if settings is None else function(con, f, settings)
            else:
                rows = function(con, f, config=config)
            frame = records(rows, fields)
    except duckdb.Error as exc:
        print(f"读取数据库 {db} 出错：{exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    sys.stdout.write(render(frame, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
