"""``python -m etl``: create, generate and load (DESIGN §7.3).

Exit codes: 0 success, 1 rejected or refused, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from etl.db import connect, resolve_db_path
from etl.generate import DEFAULT_MONTHS, DEFAULT_SEED, generate, parse_month
from etl.init_db import DatabaseExistsError, init_database
from etl.loader import load_files


def _month(text: str) -> tuple[int, int]:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description="网格看板数据装载工具")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create the database with the registry and sample data")
    p.add_argument("--db", help="database path (default $GRID_DB or data/grid.duckdb)")
    p.add_argument("--no-sample", action="store_true", help="registry only, no sample months")
    p.add_argument("--force", action="store_true", help="replace an existing database")
    p.add_argument("--months", type=int, default=DEFAULT_MONTHS)
    p.add_argument("--end", type=_month, help="last sample month, YYYY-MM")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)

    p = sub.add_parser("generate", help="write monthly upload files (sample data)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--months", type=int, default=DEFAULT_MONTHS)
    p.add_argument("--end", type=_month, help="last month, YYYY-MM (default: last complete)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--towns", type=int, default=1, help="replicate the town K times")

    p = sub.add_parser("load", help="load files into the database")
    p.add_argument("--db")
    p.add_argument("files", nargs="+", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "init":
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
            parser.error("--months and --towns must be ≥ 1")
        result = generate(
            args.out, months=args.months, end=args.end, seed=args.seed, towns=args.towns
        )
        total = sum(result.rows[p] for p in result.files)
        print(f"已生成 {len(result.files)} 个月度文件（{total} 行）于 {args.out}")
        return 0
    if args.command == "load":
        missing = [str(p) for p in args.files if not p.is_file()]
        if missing:
            print("找不到文件：" + "、".join(missing), file=sys.stderr)
            return 2
        con = connect(resolve_db_path(args.db))
        try:
            records = load_files(con, args.files, user="cli")
        finally:
            con.close()
        for r in records:
            print(
                f"{r['file_name']}: {r['kind']} 新增 {r['rows_inserted']} 更新 {r['rows_updated']}"
            )
        return 0
    parser.error("unknown command")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
