"""Scheduled commands while the dashboard holds the database: they hand their work over.

DuckDB lets one process open a file for writing and then nobody else may open it, not
even to read (docs/decisions/0002-the-dashboard-is-the-database-writer.md). The
commands that cron or a systemd timer runs (``python -m supervise sweep``,
``python -m notify --due``, ``python -m briefing``) must work whether the dashboard is
running or not (docs/decisions/0014-scheduled-commands-hand-over-to-the-dashboard.md):

* the command opens the file itself when it can (:func:`run_command`);
* when the file is held, it sends its arguments over a Unix socket beside the database
  (:func:`socket_path`) to the process holding it, which runs the same work on its own
  connection (:func:`serve`) and answers with the exit code, the output and the files
  to write; the command then prints and writes them as if it had done the work.

The socket is created owner-only, and the server answers only a peer of its own user
(``SO_PEERCRED``): whoever may hand work over could open the database file anyway.
Jobs run one at a time. Messages are a 8-byte length and UTF-8 JSON.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from store.database import connect

MAX_REQUEST_BYTES = 1 << 20
HAND_OVER_TIMEOUT_S = 3600.0  # a reminder run may wait on slow mail servers
_LENGTH = struct.Struct(">Q")
_UCRED = struct.Struct("3i")  # pid, uid, gid of SO_PEERCRED


@dataclass
class Reply:
    """What a command did: exit code, its standard output and error, files to write."""

    code: int
    out: str = ""
    err: str = ""
    files: dict[str, bytes] = field(default_factory=dict)

    def to_json(self) -> dict:
        files = {path: base64.b64encode(data).decode("ascii") for path, data in self.files.items()}
        return {"code": self.code, "out": self.out, "err": self.err, "files": files}

    @classmethod
    def from_json(cls, data: dict) -> Reply:
        files = {path: base64.b64decode(text) for path, text in data.get("files", {}).items()}
        return cls(int(data["code"]), data.get("out", ""), data.get("err", ""), files)


# A command's work on an open connection, and the dashboard's dispatcher:
# (command, arguments, environment) → Reply.
Work = Callable[[duckdb.DuckDBPyConnection], Reply]
Handler = Callable[[str, list[str], dict[str, str]], Reply]


def socket_path(db: str | os.PathLike[str]) -> Path:
    """The hand-over socket of database ``db``: beside it, or (a path too long for a
    Unix socket) in a private folder of the temporary directory."""
    path = Path(db).resolve()
    beside = path.with_name(path.name + ".jobs.sock")
    if len(os.fsencode(beside)) < 100:
        return beside
    folder = Path(tempfile.gettempdir()) / f"grid-jobs-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / (hashlib.sha256(os.fsencode(path)).hexdigest()[:20] + ".sock")


def _send(sock: socket.socket, payload: dict) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _receive(sock: socket.socket, limit: int | None = None) -> dict:
    head = _exactly(sock, _LENGTH.size)
    (length,) = _LENGTH.unpack(head)
    if limit is not None and length > limit:
        raise ValueError("message too long")
    return json.loads(_exactly(sock, length).decode("utf-8"))


def _exactly(sock: socket.socket, count: int) -> bytes:
    chunks, left = [], count
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------ the client


def database_busy(exc: duckdb.Error) -> bool:
    """Whether opening failed because another process holds the file's lock."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def hand_over(
    db: str | os.PathLike[str],
    command: str,
    argv: list[str],
    env: dict[str, str] | None = None,
    timeout: float = HAND_OVER_TIMEOUT_S,
) -> Reply | None:
    """Ask the process holding ``db`` to run ``command argv``; None if none listens."""
    path = socket_path(db)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        _send(sock, {"command": command, "argv": argv, "env": env or {}})
        return Reply.from_json(_receive(sock))


def run_command(
    db: str | os.PathLike[str],
    command: str,
    argv: list[str],
    work: Work,
    read_only: bool = False,
    env: dict[str, str] | None = None,
) -> Reply:
    """Run ``work`` on ``db`` opened here, or hand ``command argv`` over to the process
    holding the file; exit code 1 with a Chinese message when neither can be done."""
    try:
        con = connect(db, read_only=read_only)
    except duckdb.Error as exc:
        if not database_busy(exc):
            return Reply(1, err=f"无法打开数据库 {db}：{exc}\n")
        reply = hand_over(db, command, argv, env)
        if reply is None:
            return Reply(
                1,
                err=f"数据库 {db} 正被另一个程序占用，且该程序不接受转交的任务"
                "（看板会接受；请确认占用者是本看板，或稍后重试）。没有做任何改动。\n",
            )
        return reply
    try:
        return work(con)
    finally:
        con.close()


# ------------------------------------------------------------------ the server

_servers: dict[Path, dict] = {}
_servers_lock = threading.Lock()
_job_lock = threading.Lock()  # one job at a time: jobs write, and may send mail


def serve(db: str | os.PathLike[str], handle: Handler) -> Path:
    """Answer hand-overs for ``db`` in this process from now on (a daemon thread);
    calling again replaces the handler. Returns the socket's path."""
    path = socket_path(db)
    with _servers_lock:
        if path in _servers:
            _servers[path]["handle"] = handle
            return path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a process that ended without cleaning up
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o077)
        try:
            listener.bind(str(path))
        finally:
            os.umask(old_mask)
        listener.listen(8)
        state = {"handle": handle, "socket": listener}
        _servers[path] = state
    threading.Thread(
        target=_accept, args=(listener, state), name=f"handover:{path.name}", daemon=True
    ).start()
    return path


def _accept(listener: socket.socket, state: dict) -> None:
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_answer, args=(sock, state), daemon=True).start()


def _answer(sock: socket.socket, state: dict) -> None:
    with sock:
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
            _, uid, _ = _UCRED.unpack(creds)
            if uid != os.getuid():
                return
            request = _receive(sock, MAX_REQUEST_BYTES)
            command, argv = str(request["command"]), [str(a) for a in request["argv"]]
            env = {str(k): str(v) for k, v in dict(request.get("env") or {}).items()}
            with _job_lock:
                try:
                    reply = state["handle"](command, argv, env)
                except Exception as exc:  # the job's failure is the caller's answer
                    reply = Reply(1, err=f"看板执行任务时出错：{type(exc).__name__}: {exc}\n")
            _send(sock, reply.to_json())
        except (OSError, ValueError, KeyError, TypeError):
            return  # a broken or hostile request: drop it, keep serving
