"""Where reminders go: 企业微信 and 钉钉 group robots, and e-mail.

Each channel turns a :class:`Message` into the request its service expects and sends
it once; :mod:`notify.outbox` decides when to try again. A send that the service
refuses or that cannot reach it raises :class:`SendFailed` with a Chinese reason.

* 企业微信群机器人 (WeCom group robot): ``POST <webhook>`` with
  ``{"msgtype": "markdown", "markdown": {"content": …}}``; the answer is
  ``{"errcode": 0, "errmsg": "ok"}`` on success. Content is cut at 4,096 bytes.
* 钉钉自定义机器人 (DingTalk custom robot): ``POST <webhook>`` with
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``. With 加签 (a
  signing secret) the URL gets ``timestamp`` (ms) and ``sign`` =
  base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded.
* E-mail: SMTP with STARTTLS (port 587), implicit TLS (465) or, on a closed network,
  none; attachments (the monthly briefing PDF) travel with the message.

Robots cannot carry files: a message with attachments names them and carries the
dashboard link instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

WECOM_LIMIT_BYTES = 4096
DINGTALK_LIMIT_BYTES = 20000


class SendFailed(Exception):
    """A send that did not go through (reason in Chinese); ``retry`` says whether
    trying again may help (a network error, a busy service) or not (a bad token)."""

    def __init__(self, reason: str, retry: bool = True):
        super().__init__(reason)
        self.retry = retry


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    mime: str = "application/pdf"


@dataclass(frozen=True)
class Message:
    """What to tell people: a subject line, a short text (lines; robots render a
    small Markdown subset), an optional link and attachments."""

    subject: str
    text: str
    link: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


def _robot_text(message: Message) -> str:
    lines = [f"**{message.subject}**", "", message.text]
    if message.attachments:
        names = "、".join(a.name for a in message.attachments)
        lines += ["", f"附件：{names}（请在看板下载）"]
    if message.link:
        lines += ["", f"[打开看板]({message.link})"]
    return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 12].decode("utf-8", errors="ignore") + "\n……（已截断）"


def _post_json(url: str, payload: dict, timeout: float) -> dict:
    """POST JSON; the robot's JSON answer, or SendFailed."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code == 429
        raise SendFailed(f"服务返回 HTTP {exc.code}", retry=retry) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SendFailed(f"无法连接服务：{exc}") from exc
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SendFailed(f"服务的应答不是 JSON：{text[:80]!r}") from exc
    if not isinstance(answer, dict):
        raise SendFailed(f"服务的应答无法识别：{text[:80]!r}")
    return answer


def _check_answer(answer: dict, busy_codes: frozenset[int]) -> None:
    code = answer.get("errcode")
    if code == 0:
        return
    message = answer.get("errmsg", "")
    raise SendFailed(f"机器人拒绝了消息（errcode {code}：{message}）", retry=code in busy_codes)


@dataclass(frozen=True)
class WeComRobot:
    """企业微信群机器人 (the webhook URL holds its key: keep it secret)."""

    name: str
    url: str
    timeout: float = 10

    def send(self, message: Message) -> None:
        content = _cut(_robot_text(message), WECOM_LIMIT_BYTES)
        answer = _post_json(
            self.url, {"msgtype": "markdown", "markdown": {"content": content}}, self.timeout
        )
        _check_answer(answer, busy_codes=frozenset({-1, 45009}))  # busy, rate limit


@dataclass(frozen=True)
class DingTalkRobot:
    """钉钉自定义机器人; with ``secret`` the 加签 (signed) variant."""

    name: str
    url: str
    secret: str | None = None
    timeout: float = 10

    def signed_url(self, now_ms: int | None = None) -> str:
        """The webhook URL, with ``timestamp`` and ``sign`` when a secret is set."""
        if not self.secret:
            return self.url
        timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
        digest = hmac.new(
            self.secret.encode("utf-8"),
            f"{timestamp}\n{self.secret}".encode(),
            hashlib.sha256,
        ).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}timestamp={timestamp}&sign={sign}"

    def send(self, message: Message) -> None:
        text = _cut(_robot_text(message), DINGTALK_LIMIT_BYTES)
        payload = {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text}}
        answer = _post_json(self.signed_url(), payload, self.timeout)
        _check_answer(answer, busy_codes=frozenset({-1, 130101}))  # busy, too frequent


@dataclass(frozen=True)
class EmailChannel:
    """E-mail through an SMTP server (``security``: starttls, ssl or none)."""

    name: str
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 10
    context: ssl.SSLContext | None = None  # the default verifies the server

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        body = message.text + (f"\n\n看板：{message.link}" if message.link else "")
        mail.set_content(body)
        for attachment in message.attachments:
            maintype, subtype = attachment.mime.split("/", 1)
            mail.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
            )
        return mail

    def send(self, message: Message) -> None:
        context = self.context or ssl.create_default_context()
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(self.build(message))
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed("邮件服务器拒绝了用户名或密码", retry=False) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendFailed("邮件服务器拒绝了收件人地址", retry=False) from exc
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise SendFailed(f"邮件发送失败：{exc}") from exc


Channel = WeComRobot | DingTalkRobot | EmailChannel
