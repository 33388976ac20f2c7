"""Run the parsing of an untrusted file in a child process with memory and time limits.

The second wall behind :mod:`etl.prescan`: an input nobody foresaw (a reader bug, a
format this project cannot measure, such as legacy .xls) may make a reader ask for
more memory than the machine has, or loop for ever. In the dashboard's process that
would cut every user off; in a child process it ends that child, and the user gets a
Chinese "could not be read safely" rejection.

How: a small *reading server* (``python -m etl.isolation``) is started once per
process that needs it; it imports the readers once and then forks one child per job,
so a child starts in milliseconds with the readers loaded, and never inherits the
dashboard's threads, thread pools or open database (forking the dashboard itself
would: Polars' thread pool does not survive a fork). A child limits its data
segment (``RLIMIT_DATA``: heap and private mappings, what a reader allocates; the
address space would also count the libraries and the allocators' reservations) and
its life (``alarm``; default action: terminate), reads the
job from a Unix socket in a private directory, runs it, and sends back the pickled
result or exception. The server exits when its parent does (its stdin closes).

:mod:`multiprocessing`'s own ``forkserver`` is not used: every child it starts
re-runs the parent's main script (``streamlit run``'s console script, say) before the
job, unless that script was started with ``python -m``.

A command line that reads files (``python -m etl load``) is itself such a boundary: a
hostile file can end that process, never the dashboard, and the load is one
transaction. Inside :func:`reading_here` the reads of :func:`run_isolated` happen in the
calling process under the same limits — its data segment may grow by at most
``memory_mb`` (``RLIMIT_DATA`` lowered for the read, restored after) and the read may
last ``timeout_seconds`` (then the process reports it and exits) — which saves the
reading server's start and the copies to and from the child
(docs/decisions/0018-the-command-line-reads-in-its-own-process.md).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import io
import os
import pickle
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from etl.limits import IsolationLimits, default_limits
from etl.prescan import ReadError

T = TypeVar("T")

# Modules the server imports once, so that every child starts with them loaded.
PRELOAD = ("etl.read_stage", "etl.boundaries")
_HEADER = struct.Struct("!Q")
_START_SECONDS = 60  # the server's own start (imports) on a busy machine


class UnsafeInput(ReadError):
    """The reading process ran out of memory or time, or crashed; nothing was read."""


# ------------------------------------------------------------------ framing


def _send(connection: socket.socket, payload: bytes) -> None:
    connection.sendall(_HEADER.pack(len(payload)))
    connection.sendall(payload)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = connection.recv_into(view[got:], size - got)
        if n == 0:
            raise EOFError("connection closed")
        got += n
    return bytes(buffer)


def _receive(connection: socket.socket) -> bytes:
    (size,) = _HEADER.unpack(_receive_exactly(connection, _HEADER.size))
    return _receive_exactly(connection, size)


# ------------------------------------------------------------------- frames
#
# Typed tables are the bulk of a result (a 1M-row file is hundreds of MB). Pickled,
# each would be copied twice more in the child (to Arrow IPC bytes, then into the
# pickle stream), which a child near its memory limit cannot afford. Instead the child
# writes each large frame as an uncompressed Arrow IPC file into a private directory
# (in memory, /dev/shm, where there is one) and pickles its path; the parent reads the
# file and unlinks it at once.

_INLINE_BYTES = 1 << 20  # smaller frames travel inside the pickle


class _FramePickler(pickle.Pickler):
    def __init__(self, file, transfer_dir: str):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._dir = transfer_dir
        # persistent_id runs before the memo: a frame referenced twice (a part's text
        # is also its raw table's) is written once.
        self._written: dict[int, tuple[str, str]] = {}

    def persistent_id(self, obj):
        if not isinstance(obj, pl.DataFrame) or not obj.width:
            return None
        if id(obj) in self._written:
            return self._written[id(obj)]
        if obj.estimated_size() <= _INLINE_BYTES:
            return None
        path = os.path.join(self._dir, f"{len(self._written)}.arrow")
        obj.write_ipc(path, compression="uncompressed")
        self._written[id(obj)] = ("frame", path)
        return self._written[id(obj)]


class _FrameUnpickler(pickle.Unpickler):
    def __init__(self, file):
        super().__init__(file)
        self._read: dict[str, pl.DataFrame] = {}

    def persistent_load(self, pid):
        kind, path = pid
        if kind != "frame":  # pragma: no cover - only this process's children write these
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        if path not in self._read:
            self._read[path] = pl.read_ipc(path)
            os.unlink(path)
        return self._read[path]


def _dumps(value: Any, transfer_dir: str) -> bytes:
    buffer = io.BytesIO()
    _FramePickler(buffer, transfer_dir).dump(value)
    return buffer.getvalue()


def _loads(payload: bytes) -> Any:
    return _FrameUnpickler(io.BytesIO(payload)).load()


# ------------------------------------------------------------------- server


def _serve_child(connection: socket.socket) -> None:
    """One job in a forked child: limit, read the job, run it, answer, exit."""
    try:
        job = pickle.loads(_receive(connection))
        function, args, memory_bytes, seconds, transfer_dir = job
        signal.alarm(max(1, int(seconds + 0.999)))
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        try:
            outcome: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            outcome = ("memory", None)
        except BaseException as exc:
            outcome = ("error", exc)
        try:
            payload = _dumps(outcome, transfer_dir)
        except MemoryError:
            payload = pickle.dumps(("memory", None))
        except Exception as exc:  # an exception that cannot be pickled: its type only
            payload = pickle.dumps(("error", ReadError(f"读取失败：{type(exc).__name__}")))
        _send(connection, payload)
    finally:
        connection.close()
        os._exit(0)


def serve(socket_path: str) -> None:
    """The reading server's loop (``python -m etl.isolation SOCKET``)."""
    for module in PRELOAD:
        __import__(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
            os._exit(0)  # the parent is gone
        if listener in readable:
            connection, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _serve_child(connection)
            connection.close()


# ------------------------------------------------------------------- client


class _ReadingServer:
    """The one reading server of this process, started on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket_path: str | None = None
        self._transfer_dir: str | None = None

    def socket_path(self) -> str:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._socket_path is not None
            return self._socket_path

    def transfer_dir(self) -> str:
        """A private directory (in memory where possible) for frames coming back."""
        with self._lock:
            if self._transfer_dir is None or not os.path.isdir(self._transfer_dir):
                shm = "/dev/shm"
                base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
                self._transfer_dir = tempfile.mkdtemp(prefix="grid-frames-", dir=base)
                atexit.register(shutil.rmtree, self._transfer_dir, ignore_errors=True)
            return self._transfer_dir

    def _start(self) -> None:
        directory = tempfile.mkdtemp(prefix="grid-reader-")  # 0700: only this user
        path = str(Path(directory) / "socket")
        root = str(Path(__file__).resolve().parent.parent)
        environment = dict(os.environ)
        # What this process can import, the server can (as multiprocessing passes sys.path).
        environment["PYTHONPATH"] = os.pathsep.join([root, *(p for p in sys.path if p)])
        process = subprocess.Popen(
            [sys.executable, "-m", "etl.isolation", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            cwd=root,
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], _START_SECONDS)
        if not ready or process.stdout.readline().strip() != b"ready":
            process.kill()
            raise UnsafeInput("读取服务未能启动，文件未读取；请稍后重试或联系管理员")
        self._process, self._socket_path = process, path

    def connect(self) -> socket.socket:
        """A connection to a fresh child (restarting the server once if it died)."""
        for attempt in range(2):
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(self.socket_path())
                return connection
            except OSError:
                connection.close()
                if attempt:
                    raise
                with self._lock:
                    if self._process is not None:
                        self._process.kill()
                    self._process = None
        raise AssertionError("unreachable")  # pragma: no cover


_server = _ReadingServer()
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _slots_for(workers: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault(workers, threading.BoundedSemaphore(workers))


# Set inside reading_here(): run_isolated then reads in this process (per thread and
# task, so a test calling the CLI's main() leaves other callers isolated).
_reading_here: contextvars.ContextVar[bool] = contextvars.ContextVar("reading_here", default=False)
_here_lock = threading.Lock()  # the data-segment limit is process-wide: one read at a time
_BACKSTOP_SECONDS = 5  # after the time limit, if the watchdog thread cannot run


@contextlib.contextmanager
def reading_here():
    """Within the block, :func:`run_isolated` reads in this process, under its limits.

    Only for a process that is itself the boundary a hostile file may break (the
    ``python -m etl load`` command): a reader over the memory limit fails or aborts
    this process, one over the time limit makes it print why and exit with status 1;
    nothing has been written by then (reading precedes the load's transaction).
    """
    token = _reading_here.set(True)
    try:
        yield
    finally:
        _reading_here.reset(token)


def start_reading_server() -> None:
    """Start the reading server now (optional: it starts on first use otherwise)."""
    _server.socket_path()


def run_isolated(
    function: Callable[..., T],
    *args: Any,
    limits: IsolationLimits | None = None,
    what: str = "文件",
) -> T:
    """``function(*args)`` in a limited child process; its result or its exception.

    ``function`` must be a module-level function of a module the server can import,
    its arguments and result picklable. Raises :class:`UnsafeInput` when the child
    exceeds the memory or time limit or dies; re-raises what ``function`` raised
    otherwise. With ``limits.enabled`` false the function runs in this process
    (trusted input only, e.g. the generated sample).
    """
    limits = limits or default_limits().isolation
    if not limits.enabled:
        return function(*args)
    if _reading_here.get():
        with _here_lock:
            return _run_here(function, args, limits, what)
    with _slots_for(limits.workers):
        return _run(function, args, limits, what)


def _run(function: Callable[..., T], args: tuple, limits: IsolationLimits, what: str) -> T:
    # One directory per job: whatever a child that died mid-answer left goes with it.
    job_dir = tempfile.mkdtemp(dir=_server.transfer_dir())
    try:
        payload, seconds = _exchange(function, args, limits, job_dir)
        if payload is None:
            if seconds >= limits.timeout_seconds:
                raise UnsafeInput(
                    f"{what}无法安全读取：读取超过 {limits.timeout_seconds:g} 秒的时间上限，"
                    "已停止。文件可能已损坏或是恶意构造的；请在 Excel 中打开检查后另存再上传"
                )
            raise UnsafeInput(
                f"{what}无法安全读取：读取所需内存超过 {limits.memory_mb:,} MB 的上限，"
                "或读取程序异常退出，已停止。"
                "文件可能已损坏或是恶意构造的；请在 Excel 中打开检查后另存再上传"
            )
        status, value = _loads(payload)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)
    if status == "ok":
        return value
    if status == "memory":
        raise UnsafeInput(
            f"{what}无法安全读取：读取所需内存超过 {limits.memory_mb:,} MB 的上限，已停止"
        )
    raise value


def _data_bytes() -> int:
    """This process's data segment now (VmData: what ``RLIMIT_DATA`` is checked against)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0  # pragma: no cover - Linux only, as RLIMIT_DATA's meaning is


def _run_here(function: Callable[..., T], args: tuple, limits: IsolationLimits, what: str) -> T:
    """``function(*args)`` in this process: its data segment may grow by ``memory_mb``
    at most while it runs, and it may run ``timeout_seconds``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = _data_bytes() + limits.memory_mb * 2**20
    for existing in (soft, hard):
        if existing != resource.RLIM_INFINITY:
            ceiling = min(ceiling, existing)
    message = (
        f"{what}无法安全读取：读取超过 {limits.timeout_seconds:g} 秒的时间上限，已停止，"
        "数据库未做任何修改。文件可能已损坏或是恶意构造的；请在 Excel 中打开检查后另存再载入"
    )

    def overdue() -> None:
        # A reader stuck in native code never returns to Python: end the process. The
        # load's transaction is not open yet, so nothing is lost.
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        os._exit(1)

    watchdog = threading.Timer(limits.timeout_seconds, overdue)
    watchdog.daemon = True
    watchdog.start()
    # If the watchdog cannot take the interpreter lock, SIGALRM's default action ends
    # the process a little later.
    signal.alarm(max(1, int(limits.timeout_seconds + 0.999)) + _BACKSTOP_SECONDS)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    try:
        return function(*args)
    except MemoryError:
        raise UnsafeInput(
            f"{what}无法安全读取：读取所需内存超过 {limits.memory_mb:,} MB 的上限，已停止"
        ) from None
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
        signal.alarm(0)
        watchdog.cancel()


def _exchange(
    function: Callable, args: tuple, limits: IsolationLimits, job_dir: str
) -> tuple[bytes | None, float]:
    """Send the job to a fresh child; (its answer or None if it died, seconds taken)."""
    job = pickle.dumps(
        (function, args, limits.memory_mb * 2**20, limits.timeout_seconds, job_dir),
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    started = time.monotonic()
    with contextlib.closing(_server.connect()) as connection:
        # The child ends itself at the time limit; this wait only outlasts it.
        connection.settimeout(limits.timeout_seconds + 10)
        try:
            _send(connection, job)
            del job
            return _receive(connection), time.monotonic() - started
        except (EOFError, OSError):
            return None, time.monotonic() - started


if __name__ == "__main__":
    serve(sys.argv[1])
