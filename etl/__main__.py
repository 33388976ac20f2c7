"""``python -m etl``: create, generate, load, history, undo and 零报告 (docs/cli.md).

Exit codes: 0 success (including a load that changed nothing), 1 rejected or refused
(errors, undo refused, database busy or missing), 2 usage error.

``load`` accepts files and directories (their ``*.csv``/``*.xlsx`` files, sorted) and
loads them as one upload; ``--wait`` is how long it waits for another process (the
dashboard) to release the database before giving up with a message.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from contextlib import closing
from datetime import date
from pathlib import Path

from store.months import MonthError, parse_month
from store.paths import private_files, resolve_db_path
from store.reporting_units import UNIT_KINDS

# The subcommands import what they need when they run: a load is timed from the
# interpreter's start, and the sample generator, the boundaries (shapely) and numpy
# would add a third of a second to every command that never uses them.

LARGE_UPLOAD_BYTES = 5 * 2**20  # a single file this big gets a progress bar too


def _month(text: str) -> date:
    """``--end YYYY-MM`` → the month; a malformed one is a usage error (exit code 2)."""
    try:
        return parse_month(text)
    except MonthError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description="网格看板数据装载工具")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create the database with the registry and sample data")
    p.add_argument("--db", help="database path (default $GRID_DB or data/grid.duckdb)")
    p.add_argument("--no-sample", action="store_true", help="registry only, no sample months")
    p.add_argument("--force", action="store_true", help="replace an existing database")
    p.add_argument("--months", type=int, help="sample months (default 24)")
    p.add_argument("--end", type=_month, help="last sample month, YYYY-MM")
    p.add_argument("--seed", type=int, help="random seed of the sample")

    p = sub.add_parser("generate", help="write monthly upload files (sample data)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--months", type=int, help="months to write (default 24)")
    p.add_argument("--end", type=_month, help="last month, YYYY-MM (default: last complete)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--towns", type=int, default=1, help="replicate the town K times")

    p = sub.add_parser("load", help="validate and load files (one upload, all or nothing)")
    p.add_argument("--db", help="database path (default $GRID_DB or data/grid.duckdb)")
    p.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    p.add_argument("--user", default=None, help="who uploads (default: the login name)")
    p.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a busy database")
    p.add_argument(
        "--refuse-outside",
        action="store_true",
        help="load nothing when rows lie outside the village or month their file is for "
        "(by default they are listed and loaded)",
    )
    p.add_argument("files", nargs="+", type=Path, help="CSV/XLSX files or directories")

    p = sub.add_parser("history", help="list uploads, newest first")
    p.add_argument("--db")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--wait", type=float, default=5.0)

    p = sub.add_parser("undo", help="undo an upload (the whole batch it was loaded with)")
    p.add_argument("upload_id", type=int)
    p.add_argument("--db")
    p.add_argument("--user", default=None)
    p.add_argument("--wait", type=float, default=5.0)

    p = sub.add_parser("zero-report", help="declare (or --undo) 零报告 for a village's month")
    p.add_argument("--village", required=True, help="village id, e.g. CJ05")
    p.add_argument("--month", required=True, type=_month, help="the month, YYYY-MM")
    p.add_argument("--kind", required=True, action="append", choices=UNIT_KINDS, help="repeatable")
    p.add_argument("--undo", action="store_true", help="withdraw the declaration")
    p.add_argument("--note", help="why there was nothing to report")
    p.add_argument("--db")
    p.add_argument("--user", default=None)
    p.add_argument("--wait", type=float, default=5.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("init", "generate"):
        from etl.generate import DEFAULT_MONTHS, DEFAULT_SEED, generate

        args.months = DEFAULT_MONTHS if args.months is None else args.months
        args.seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.command == "init":
        from etl.init_db import DatabaseExistsError, init_database

        db = resolve_db_path(args.db)
        started = time.perf_counter()
        try:
            result = init_database(
                db,
                sample=not args.no_sample,
                force=args.force,
                months=args.months,
                end=args.end,
                seed=args.seed,
                progress=lambda step, total, label: print(f"[{step}/{total}] {label}", flush=True),
            )
        except DatabaseExistsError as exc:
            print(exc, file=sys.stderr)
            return 1
        counts = ", ".join(f"{k} {v}" for k, v in result.rows.items())
        print(f"已创建 {db}（{time.perf_counter() - started:.1f} 秒）：{counts}")
        return 0
    if args.command == "generate":
        if args.months < 1 or args.towns < 1:
            parser.error("--months 和 --towns 必须 ≥ 1")
        result = generate(
            args.out, months=args.months, end=args.end, seed=args.seed, towns=args.towns
        )
        total = sum(result.rows[p] for p in result.files)
        print(f"已生成 {len(result.files)} 个月度文件（{total} 行）于 {args.out}")
        return 0
    if args.command == "load":
        return _load(args)
    if args.command == "history":
        return _history(args)
    if args.command == "undo":
        return _undo(args)
    if args.command == "zero-report":
        return _zero_report(args)
    parser.error("unknown command")  # pragma: no cover
    return 2


# ------------------------------------------------------------------ load/undo


def _user(args) -> str:
    if args.user:
        return args.user
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still record something
        return "cli"


def _expand(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, directories → their CSV/Excel files; plus the missing paths."""
    from etl.reader import EXCEL_SUFFIXES

    files, missing = [], []
    for p in paths:
        if p.is_dir():
            files += sorted(
                f for f in p.iterdir() if f.suffix.lower() in (".csv", ".txt", *EXCEL_SUFFIXES)
            )
        elif p.is_file():
            files.append(p)
        else:
            missing.append(str(p))
    return files, missing


def _open(args):
    """Open an existing database for writing, or print why not (returns None)."""
    from etl.load import DatabaseBusy, connect_for_load

    db = resolve_db_path(args.db)
    if not db.exists():
        print(f"数据库不存在：{db}。请先运行 python -m etl init 创建数据库。", file=sys.stderr)
        return None
    try:
        con = connect_for_load(db, wait_seconds=max(args.wait, 0))
    except DatabaseBusy as exc:
        print(exc, file=sys.stderr)
        return None
    # Our own progress bar (tqdm) speaks for long loads; DuckDB's would interleave with it.
    con.execute("SET enable_progress_bar = false").fetchall()
    return con


def _load(args) -> int:
    files, missing = _expand(args.files)
    if missing:
        print("找不到文件：" + "、".join(missing), file=sys.stderr)
        return 2
    if not files:
        print("没有可载入的文件（支持 .csv、.xlsx）", file=sys.stderr)
        return 2
    too_big = _too_big(files)
    if too_big:
        print(too_big, file=sys.stderr)
        return 1
    sources = [(str(f), f.read_bytes()) for f in files]
    big = len(sources) > 1 or sum(len(d) for _, d in sources) >= LARGE_UPLOAD_BYTES
    con = _open(args)
    if con is None:
        return 1
    from etl.cli_output import ProgressBar, print_loaded, print_outside, print_rejection
    from etl.isolation import reading_here
    from etl.load import OutsideRowsRefused, UploadRejected, load_uploads

    # This process is the boundary a hostile file may break (it holds no other user's
    # work, and the load is one transaction), so it reads the files itself under the
    # configured limits rather than in a reading child (decision 0018).
    with closing(con), ProgressBar(enabled=big) as progress, reading_here():
        try:
            result = load_uploads(
                con,
                sources,
                _user(args),
                dry_run=args.dry_run,
                progress=progress,
                accept_outside=not args.refuse_outside,
            )
        except UploadRejected as exc:
            progress.close()
            print_rejection(exc.result)
            return 1
        except OutsideRowsRefused as exc:
            progress.close()
            print_outside(exc.result)
            return 1
    print_loaded(result)
    return 0


def _too_big(files: list[Path]) -> str | None:
    """The rejection of a file over the size limit, measured before it is read."""
    from etl.limits import default_limits
    from etl.prescan import LimitExceeded, check_size

    for f in files:
        try:
            check_size(f.stat().st_size, default_limits().read)
        except LimitExceeded as exc:
            return f"上传被拒绝：{f}：{exc}。数据库未做任何修改。"
    return None


def _history(args) -> int:
    import polars as pl

    from etl.cli_output import format_table
    from etl.load import upload_history

    con = _open(args)
    if con is None:
        return 1
    with closing(con):
        frame = upload_history(con, limit=args.limit)
    if frame.is_empty():
        print("还没有任何上传记录。")
        return 0
    shown = frame.select(
        "上传编号",
        "批次",
        "文件",
        "类型",
        "行数",
        "新增",
        "更新",
        "未变",
        "用户",
        pl.col("上传时间").dt.strftime("%Y-%m-%d %H:%M"),
        "状态",
    )
    print(format_table(shown, args.limit))
    return 0


def _undo(args) -> int:
    from etl.load import UndoRefused, undo_upload

    con = _open(args)
    if con is None:
        return 1
    with closing(con):
        try:
            done = undo_upload(con, args.upload_id, _user(args))
        except UndoRefused as exc:
            print(exc, file=sys.stderr)
            return 1
    removed, restored = sum(done.removed.values()), sum(done.restored.values())
    print(
        f"已撤销批次 {done.batch_id}（上传 {', '.join(map(str, done.upload_ids))}："
        f"{'、'.join(done.files)}）：删除 {removed} 行，恢复 {restored} 行。"
    )
    return 0


def _zero_report(args) -> int:
    from etl.zero_reports import ZeroReportRefused, declare_zero_report, withdraw_zero_report

    con = _open(args)
    if con is None:
        return 1
    kinds = list(dict.fromkeys(args.kind))
    with closing(con):
        try:
            if args.undo:
                unit = withdraw_zero_report(con, args.village, args.month, kinds, _user(args))
            else:
                unit = declare_zero_report(
                    con, args.village, args.month, kinds, _user(args), args.note
                )
        except ZeroReportRefused as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"已{'撤销' if args.undo else '声明'}零报告：{unit.describe()}。")
    return 0


if __name__ == "__main__":
    private_files()
    sys.exit(main())
