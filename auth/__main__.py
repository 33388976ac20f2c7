"""``python -m auth``: manage dashboard users (list, add, reset-password, remove),
check a users file before a production start (check) and end a user's remembered
sign-ins (revoke-sessions).

Passwords are read with a hidden prompt (twice), or from standard input with
``--password-stdin`` for scripts. Exit codes: 0 done, 1 refused (for ``check``: the
file is not safe to run with), 2 usage error.
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys

from auth.roles import ROLES
from auth.session_tokens import SessionTokens, sessions_file
from auth.sign_in import blocked_demo_accounts
from auth.store import UserStore, UserStoreError, loose_mode, users_file
from store.paths import resolve_db_path


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != first:
        raise UserStoreError("两次输入的密码不一致")
    return first


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m auth`` (every command and option is in docs/cli.md)."""
    parser = argparse.ArgumentParser(prog="python -m auth", description="网格看板用户管理")
    parser.add_argument("--file", help=f"users file (default $GRID_USERS or {users_file()})")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list users")
    p = sub.add_parser("add", help="add or replace a user")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--village", help="village id (村居书记 only), e.g. CJ03")
    p.add_argument("--name", help="display name")
    p.add_argument("--password-stdin", action="store_true")
    p = sub.add_parser("reset-password", help="set a new password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p = sub.add_parser("remove", help="remove a user")
    p.add_argument("username")
    sub.add_parser(
        "check", help="exit 1 when demo = false and an account still has its demo password"
    )
    p = sub.add_parser(
        "revoke-sessions", help="end every remembered sign-in of a user (works while serving)"
    )
    p.add_argument("username")
    p.add_argument("--db", help="the dashboard's database (default $GRID_DB or data/grid.duckdb)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "revoke-sessions":
        return _revoke_sessions(args.username, args.db)
    try:
        store = UserStore.load(args.file)
        if args.command == "list":
            for user in store.users():
                scope = user.village_id or "全部村居"
                print(f"{user.username}\t{user.role}\t{scope}\t{user.display_name}")
        elif args.command == "add":
            user = store.set_user(
                args.username, _password(args), args.role, args.village, args.name
            )
            print(f"已保存用户 {user.username}（{user.role}）于 {store.path}")
        elif args.command == "reset-password":
            store.reset_password(args.username, _password(args))
            print(f"已重设 {args.username} 的密码")
        elif args.command == "remove":
            store.remove(args.username)
            print(f"已删除用户 {args.username}")
        elif args.command == "check":
            return _check(store)
    except UserStoreError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    return 0


def _revoke_sessions(username: str, db: str | None) -> int:
    """Revoke every remembered sign-in of ``username`` (in the token store beside the
    database, which the running dashboard does not lock): each of its open pages ends at
    its next interaction, and a reload asks for sign-in."""
    tokens = SessionTokens(sessions_file(resolve_db_path(db)))
    try:
        count = tokens.revoke_user(username)
    except (sqlite3.Error, OSError) as exc:
        print(f"错误：无法写入 {tokens.path}：{exc}", file=sys.stderr)
        return 1
    if count:
        print(f"已撤销 {username} 的 {count} 个登录；其页面在下次操作或刷新时需重新登录")
    else:
        print(f"{username} 没有有效的登录，无需撤销")
    return 0


def _check(store: UserStore) -> int:
    """Whether the users file is safe for a production start (see ``check``)."""
    mode = loose_mode(store.path)
    if mode is not None:
        print(
            f"警告：{store.path} 的权限为 {mode:o}，其他系统用户可读取；请运行 chmod 600",
            file=sys.stderr,
        )
    blocked = blocked_demo_accounts(store)
    if blocked:
        print(f"{store.path}：demo = false，但以下账号仍在使用演示密码，不能登录：")
        for name in blocked:
            print(f"  {name}\t请运行 python -m auth reset-password {name}")
        return 1
    if store.demo:
        demo = store.demo_password_accounts()
        print(f"{store.path}：演示模式（demo = true），演示账号：{'、'.join(demo) or '无'}")
    else:
        print(f"{store.path}：正式模式（demo = false），没有账号使用演示密码")
    return 0


if __name__ == "__main__":
    sys.exit(main())
