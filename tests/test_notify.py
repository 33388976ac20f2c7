"""Reminders reach people: 企业微信 and 钉钉 robots and e-mail, against real local servers.

A loopback HTTP server plays the robots' webhooks (it checks 钉钉's signature as
DingTalk does and can fail on purpose); aiosmtpd plays the mail server, with
STARTTLS or implicit TLS on a certificate from trustme. The outbox logs every
message before sending, retries with a doubling delay, keeps a failed message for
the next run and never sends one twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import socket
import ssl
import threading
import urllib.parse
from datetime import date, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notify.channels import (
    Attachment,
    DingTalkRobot,
    EmailChannel,
    Message,
    SendFailed,
    WeComRobot,
)
from notify.outbox import deliver, queue
from notify.settings import NOTIFY_FILE, Retry, load_settings
from store.clock import now_local
from store.database import connect
from store.toml_config import ConfigError

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
MESSAGE = Message(
    "【督办提醒】营房村 3 件事项将于 3 天内到期",
    "- 民情超期：CJ03-R0012（张*明）截止 12月7日\n- 未报送：签到记录",
    link="https://grid.example/overview",
    attachments=(Attachment("2026年11月通报.pdf", PDF),),
)


# ------------------------------------------------------------ webhook server


class Receiver:
    """A robot webhook on loopback: records requests, answers from a script."""

    def __init__(self, secret: str | None = None):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []  # consumed in order, then success
        self.secret = secret
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                receiver.requests.append({"path": url.path, "query": query, "body": body})
                status, answer = receiver.answer(query)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token=t0k"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, query: dict) -> tuple[int, dict]:
        if self.secret is not None:  # DingTalk's check of the 加签 signature
            expected = base64.b64encode(
                hmac.new(
                    self.secret.encode(),
                    f"{query.get('timestamp')}\n{self.secret}".encode(),
                    hashlib.sha256,
                ).digest()
            ).decode()
            if query.get("sign") != expected:
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if self.answers:
            return self.answers.pop(0)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def db(tmp_path):
    con = connect(tmp_path / "notify.duckdb")
    yield con
    con.close()


RETRY = Retry(attempts=3, first_delay_seconds=2, timeout_seconds=5, give_up_after_hours=72)


def test_wecom_robot_gets_markdown_with_the_attachment_named(receiver):
    WeComRobot("企业微信", receiver.url).send(MESSAGE)
    (request,) = receiver.requests
    assert request["body"]["msgtype"] == "markdown"
    content = request["body"]["markdown"]["content"]
    assert MESSAGE.subject in content and "CJ03-R0012" in content
    assert "2026年11月通报.pdf" in content and "https://grid.example/overview" in content


def test_dingtalk_signed_robot_passes_the_signature_check():
    signed = Receiver(secret="SECdemo-secret")
    try:
        DingTalkRobot("钉钉", signed.url, "SECdemo-secret").send(MESSAGE)
        (request,) = signed.requests
        assert {"timestamp", "sign", "access_token"} <= set(request["query"])
        assert request["body"]["markdown"]["title"] == MESSAGE.subject
        with pytest.raises(SendFailed, match="310000") as refused:
            DingTalkRobot("钉钉", signed.url, "SECwrong").send(MESSAGE)
        assert refused.value.retry is False
    finally:
        signed.close()


def test_a_failing_robot_is_retried_with_doubling_delays(db, receiver):
    receiver.answers = [(500, {}), (200, {"errcode": -1, "errmsg": "system busy"})]
    assert queue(db, "overdue", "overdue:CJ03-R0012:2026-12-04", "企业微信", MESSAGE)
    waits: list[float] = []
    done = deliver(db, {"企业微信": WeComRobot("企业微信", receiver.url)}, RETRY, waits.append)
    assert (done.sent, done.failed) == (1, 0)
    assert waits == [2, 4] and len(receiver.requests) == 3
    row = db.execute("SELECT status, attempts, last_error FROM notify_log").fetchall()
    assert row == [("sent", 3, None)]


def test_a_failure_is_kept_retried_next_run_and_abandoned_after_the_limit(db, receiver):
    receiver.answers = [(503, {})] * 3
    queue(db, "due_soon", "k1", "企业微信", MESSAGE)
    channels = {"企业微信": WeComRobot("企业微信", receiver.url)}
    first = deliver(db, channels, RETRY, lambda s: None)
    assert (first.sent, first.failed) == (0, 1)
    status, attempts, error = db.execute(
        "SELECT status, attempts, last_error FROM notify_log"
    ).fetchall()[0]
    assert (status, attempts) == ("failed", 3) and "503" in error
    # The next run (the robot works again) sends it: nothing was lost.
    second = deliver(db, channels, RETRY, lambda s: None)
    assert second.sent == 1 and len(receiver.requests) == 4
    # A message failing past give_up_after_hours is abandoned, and says so.
    queue(db, "due_soon", "k2", "企业微信", MESSAGE)
    later = now_local() + timedelta(hours=73)
    third = deliver(db, channels, RETRY, lambda s: None, clock=lambda: later)
    assert third.abandoned == 1
    assert db.execute("SELECT status FROM notify_log WHERE dedupe_key = 'k2'").fetchall() == [
        ("abandoned",)
    ]


def test_the_same_reminder_is_queued_once(db):
    assert queue(db, "overdue", "overdue:X:2026-12-04", "企业微信", MESSAGE)
    assert not queue(db, "overdue", "overdue:X:2026-12-04", "企业微信", MESSAGE)
    assert queue(db, "overdue", "overdue:X:2026-12-04", "钉钉", MESSAGE)
    assert db.execute("SELECT count(*) FROM notify_log").fetchall()[0][0] == 2
    assert db.execute("SELECT count(*) FROM notify_attachment").fetchall()[0][0] == 2


def test_an_unreachable_robot_is_a_logged_failure_not_an_exception(db):
    queue(db, "overdue", "k", "企业微信", MESSAGE)
    closed = WeComRobot("企业微信", "http://127.0.0.1:9/robot", timeout=2)  # discard port
    done = deliver(db, {"企业微信": closed}, RETRY, lambda s: None)
    assert done.failed == 1
    assert "无法连接" in db.execute("SELECT last_error FROM notify_log").fetchall()[0][0]


# ---------------------------------------------------------------- SMTP server


class Inbox:
    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content)
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture(scope="module")
def tls():
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_with_tls_and_login_carries_the_pdf(tls, security):
    server_context, client_context = tls
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": _authenticator,
    }
    if security == "ssl":  # implicit TLS: aiosmtpd cannot tell, so AUTH is allowed as is
        controller = Controller(
            inbox, ssl_context=server_context, auth_require_tls=False, **options
        )
    else:
        controller = Controller(
            inbox,
            tls_context=server_context,
            require_starttls=True,
            auth_require_tls=True,
            **options,
        )
    controller.start()
    try:
        channel = EmailChannel(
            "邮箱",
            "127.0.0.1",
            port,
            "grid@example.gov.cn",
            ("office@example.gov.cn",),
            security=security,
            username="grid",
            password="s3cret",
            context=client_context,
        )
        channel.send(MESSAGE)
        (raw,) = inbox.messages
        mail = message_from_bytes(raw, policy=policy.default)
        assert mail["Subject"] == MESSAGE.subject
        assert "CJ03-R0012" in mail.get_body(("plain",)).get_content()
        (attachment,) = list(mail.iter_attachments())
        assert attachment.get_filename() == "2026年11月通报.pdf"
        assert attachment.get_content() == PDF
        wrong = EmailChannel(**{**channel.__dict__, "password": "nope"})
        with pytest.raises(SendFailed, match="用户名或密码") as refused:
            wrong.send(MESSAGE)
        assert refused.value.retry is False
    finally:
        controller.stop()


def test_email_to_a_server_that_is_down_stays_queued(db):
    queue(db, "briefing", "briefing:2026-11", "邮箱", MESSAGE)
    down = EmailChannel("邮箱", "127.0.0.1", 9, "a@b.cn", ("c@d.cn",), security="none", timeout=2)
    assert deliver(db, {"邮箱": down}, RETRY, lambda s: None).failed == 1
    assert db.execute("SELECT count(*) FROM notify_attachment").fetchall()[0][0] == 1


# ------------------------------------------------------------------- settings


SETTINGS = """
dashboard_url = "https://grid.example"
[retry]
attempts = 2
first_delay_seconds = 1
timeout_seconds = 5
give_up_after_hours = 24
[[channel]]
name = "群"
kind = "dingtalk"
enabled = true
url_env = "TEST_DING_URL"
secret_file = "{secret}"
[[channel]]
name = "邮箱"
kind = "email"
enabled = false
host = "smtp.example"
port = 587
security = "starttls"
sender = "a@b.cn"
recipients = ["c@d.cn"]
[events]
due_soon_days = 3
briefing_day = 5
due_soon = ["群"]
overdue = ["群"]
unreported = []
briefing = ["邮箱", "群"]
"""


def test_settings_read_secrets_from_the_environment_and_files(tmp_path, monkeypatch):
    secret = tmp_path / "ding.secret"
    secret.write_text("SECfromfile\n", encoding="utf-8")
    path = tmp_path / "notify.toml"
    path.write_text(SETTINGS.format(secret=secret), encoding="utf-8")
    monkeypatch.setenv("TEST_DING_URL", "https://robot.example/send?access_token=x")
    settings = load_settings(path)
    (channel,) = settings.channels_for("briefing")  # the disabled 邮箱 is left out
    assert isinstance(channel, DingTalkRobot) and channel.secret == "SECfromfile"
    assert settings.due_soon_days == 3 and settings.retry.attempts == 2
    monkeypatch.delenv("TEST_DING_URL")
    with pytest.raises(ConfigError, match="TEST_DING_URL"):
        load_settings(path)
    path.write_text(SETTINGS.format(secret=secret).replace("host =", "hots ="), encoding="utf-8")
    monkeypatch.setenv("TEST_DING_URL", "https://robot.example/send")
    with pytest.raises(ConfigError, match="hots"):
        load_settings(path)


def test_the_shipped_settings_load_and_name_no_secret():
    settings = load_settings()
    assert settings.channels == {}  # shipped disabled
    text = NOTIFY_FILE.read_text(encoding="utf-8")
    assert "access_token=" not in text.replace("access_token=…", "")


# ------------------------------------------------------- reminders, end to end

REMINDER_SETTINGS = """
dashboard_url = "https://grid.example"
[retry]
attempts = 2
first_delay_seconds = 0
timeout_seconds = 5
give_up_after_hours = 24
[[channel]]
name = "镇办群"
kind = "wecom"
enabled = true
url_env = "GRID_TEST_TOWN_URL"
[[channel]]
name = "营房村群"
kind = "dingtalk"
enabled = true
villages = ["CJ03"]
url_env = "GRID_TEST_CJ03_URL"
secret_env = "GRID_TEST_CJ03_SECRET"
[events]
due_soon_days = 7
briefing_day = 28
due_soon = ["镇办群"]
overdue = ["镇办群"]
unreported = ["镇办群"]
briefing = ["镇办群"]
"""


@pytest.fixture
def reminded(sample_db, tmp_path, monkeypatch):
    """A swept copy of the sample whose 民情超期 items are past their deadline and whose
    红色预警 items fall due within the week; the settings point at two local robots
    (the town's group, and 营房村's own, signed)."""
    from supervise.writer import sweep

    db = tmp_path / "grid.duckdb"
    shutil.copy(sample_db, db)
    con = connect(db)
    sweep(con, today=date.today() - timedelta(days=10))
    con.close()
    town, village = Receiver(), Receiver(secret="SECvillage")
    settings = tmp_path / "notify.toml"
    settings.write_text(REMINDER_SETTINGS, encoding="utf-8")
    monkeypatch.setenv("GRID_NOTIFY", str(settings))
    monkeypatch.setenv("GRID_TEST_TOWN_URL", town.url)
    monkeypatch.setenv("GRID_TEST_CJ03_URL", village.url)
    monkeypatch.setenv("GRID_TEST_CJ03_SECRET", "SECvillage")
    yield {"db": db, "town": town, "village": village}
    town.close()
    village.close()


def robot_texts(receiver: Receiver) -> list[str]:
    return [r["body"]["markdown"].get("content") or r["body"]["markdown"]["text"]
            for r in receiver.requests]  # fmt: skip


def expected_villages(db, status_filter) -> set[str]:
    from supervise.items import items

    con = connect(db, read_only=True)
    try:
        return set(items(con, status="未办结").filter(status_filter)["village_name"])
    finally:
        con.close()


def test_due_reminders_reach_the_town_group_and_the_villages_own(reminded, capsys):
    import polars as pl

    from notify.cli import main

    assert main(["--due", "--db", str(reminded["db"])]) == 0
    assert "发送成功" in capsys.readouterr().out
    town = robot_texts(reminded["town"])
    overdue = [t for t in town if "已逾期" in t.splitlines()[0]]
    soon = [t for t in town if "天内到期" in t.splitlines()[0]]
    late_villages = expected_villages(reminded["db"], pl.col("days_left") < 0)
    soon_villages = expected_villages(reminded["db"], pl.col("days_left").is_between(0, 7))
    assert len(overdue) == len(late_villages) > 0 and len(soon) == len(soon_villages) > 0
    assert {t.splitlines()[0].split()[0].removeprefix("**【督办提醒】") for t in overdue} == (
        late_villages
    )
    assert all("https://grid.example/supervision?village=CJ" in t for t in town)
    # 营房村's own group gets 营房村's reminders, signed, and nobody else's.
    own = robot_texts(reminded["village"])
    assert own and all("营房村" in t.splitlines()[0] for t in own)
    assert all("sign" in r["query"] for r in reminded["village"].requests)
    # Names of persons never go to a group: owners are named by their post.
    assert all("子网格长" in t or "总网格长" in t for t in town)
    # A second run the same day sends nothing again.
    sent = len(reminded["town"].requests)
    assert main(["--due", "--db", str(reminded["db"])]) == 0
    assert len(reminded["town"].requests) == sent


def test_a_failing_robot_keeps_the_reminders_for_the_next_run(reminded, capsys):
    from notify.cli import main

    reminded["town"].answers = [(500, {})] * 200
    assert main(["--due", "--db", str(reminded["db"])]) == 1
    assert "失败" in capsys.readouterr().out
    con = connect(reminded["db"], read_only=True)
    failed = con.execute(
        "SELECT count(*) FROM notify_log WHERE channel = '镇办群' AND status = 'failed' "
        "AND attempts = 2 AND last_error LIKE '%500%'"
    ).fetchall()[0][0]
    con.close()
    assert failed > 0
    reminded["town"].answers = []
    assert main(["--due", "--db", str(reminded["db"])]) == 0
    con = connect(reminded["db"], read_only=True)
    statuses = con.execute("SELECT DISTINCT status FROM notify_log").fetchall()
    con.close()
    assert statuses == [("sent",)]  # nothing lost, nothing sent twice
    received = robot_texts(reminded["town"])
    assert len(received) == 2 * failed + failed  # two failed tries each, then once sent


def test_a_dry_run_lists_and_sends_nothing(reminded, capsys):
    from notify.cli import main

    assert main(["--due", "--dry-run", "--db", str(reminded["db"])]) == 0
    out = capsys.readouterr().out
    assert "试运行" in out and "【督办提醒】营房村" in out and "营房村群" in out
    assert reminded["town"].requests == [] and reminded["village"].requests == []
    con = connect(reminded["db"], read_only=True)
    tables = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'notify_log'"
    ).fetchall()[0][0]
    queued = con.execute("SELECT count(*) FROM notify_log").fetchall()[0][0] if tables else 0
    con.close()
    assert queued == 0
    assert main(["--db", str(reminded["db"])]) == 2  # --due is required


def test_the_monthly_briefing_goes_out_once_as_a_pdf_by_mail(reminded, tls):
    from notify.reminders import briefing_reminder

    server_context, client_context = tls
    settings = load_settings()
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_context, require_starttls=True
    )
    controller.start()
    con = connect(reminded["db"])
    try:
        assert briefing_reminder(con, settings, date(2026, 11, 27)) is None  # before the day
        reminder = briefing_reminder(con, settings, date(2026, 11, 28))
        assert reminder.dedupe_key == "briefing:2026-10"
        (attachment,) = reminder.message.attachments
        assert attachment.data.startswith(b"%PDF-") and attachment.name.endswith("2026年10月）.pdf")
        mail = EmailChannel("邮箱", "127.0.0.1", port, "grid@example.gov.cn",
                            ("office@example.gov.cn",), context=client_context)  # fmt: skip
        assert queue(con, "briefing", reminder.dedupe_key, "邮箱", reminder.message)
        assert deliver(con, {"邮箱": mail}, RETRY, lambda s: None).sent == 1
        (raw,) = inbox.messages
        received = message_from_bytes(raw, policy=policy.default)
        assert "2026年10月" in received["Subject"]
        (pdf,) = list(received.iter_attachments())
        assert pdf.get_content() == attachment.data
        # Once queued, it is not built again that month.
        assert briefing_reminder(con, settings, date(2026, 11, 29)) is None
    finally:
        con.close()
        controller.stop()
