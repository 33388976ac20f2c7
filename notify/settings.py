"""The notification settings: ``data/config/notify.toml`` (or ``$GRID_NOTIFY``).

Channels are named; events (due soon, overdue, not reported, the monthly briefing)
list the channels they go to. Secrets never live in the file: a webhook URL (it
carries the robot's token), a signing secret or an SMTP password is read from an
environment variable (``…_env``) or from a file outside the repository
(``…_file``, e.g. ``/etc/grid/dingtalk.secret``). Every key is documented in
docs/configuration.md; a bad key stops with a Chinese message naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from notify.channels import Channel, DingTalkRobot, EmailChannel, WeComRobot
from store.paths import CONFIG_DIR
from store.toml_config import ConfigError, ConfigTable, read_config_file

NOTIFY_FILE = CONFIG_DIR / "notify.toml"
EVENTS = ("due_soon", "overdue", "unreported", "briefing")
KINDS = ("wecom", "dingtalk", "email")
KEYS = {
    "wecom": {"url_env", "url_file"},
    "dingtalk": {"url_env", "url_file", "secret_env", "secret_file"},
    "email": {
        "host",
        "port",
        "sender",
        "recipients",
        "security",
        "username_env",
        "username_file",
        "password_env",
        "password_file",
    },
}
COMMON_KEYS = {"name", "kind", "enabled"}
SECURITY = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class Retry:
    attempts: int = 4  # tries per message in one run
    first_delay_seconds: float = 2.0  # then doubling
    timeout_seconds: float = 10.0  # one request or SMTP session
    give_up_after_hours: float = 72.0  # a message still failing then is abandoned


@dataclass(frozen=True)
class NotifySettings:
    channels: dict[str, Channel]
    events: dict[str, tuple[str, ...]]  # event → channel names
    retry: Retry
    due_soon_days: int
    dashboard_url: str | None

    def channels_for(self, event: str) -> list[Channel]:
        """The enabled channels an event goes to."""
        return [self.channels[n] for n in self.events.get(event, ()) if n in self.channels]


def _secret(t: ConfigTable, stem: str, required: bool) -> str | None:
    """The value of ``{stem}_env`` (an environment variable) or ``{stem}_file``."""
    env = t.raw(f"{stem}_env", None)
    path = t.raw(f"{stem}_file", None)
    if env is not None and path is not None:
        raise t.fail(f"{stem}_env", f"{stem}_env 与 {stem}_file 只能设一个")
    if env is not None:
        value = os.environ.get(t.text(f"{stem}_env"), "").strip()
        if not value and required:
            raise t.fail(f"{stem}_env", f"环境变量 {env} 未设置")
        return value or None
    if path is not None:
        try:
            value = Path(t.text(f"{stem}_file")).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise t.fail(f"{stem}_file", f"无法读取 {path}：{exc.strerror}") from exc
        return value or None
    if required:
        raise t.fail(f"{stem}_env", f"需要 {stem}_env 或 {stem}_file")
    return None


def _channel(t: ConfigTable, timeout: float) -> tuple[str, Channel | None]:
    name = t.text("name")
    kind = t.text("kind", KINDS)
    enabled = t.boolean("enabled")
    if not enabled:  # secrets are not looked up, but a misspelt key is still refused
        unknown = sorted(set(t.data) - COMMON_KEYS - KEYS[kind])
        if unknown:
            raise t.fail(unknown[0], "未知的配置项")
        return name, None
    if kind == "wecom":
        channel: Channel = WeComRobot(name, _secret(t, "url", True) or "", timeout)
    elif kind == "dingtalk":
        url = _secret(t, "url", True) or ""
        channel = DingTalkRobot(name, url, _secret(t, "secret", False), timeout)
    else:
        channel = EmailChannel(
            name,
            host=t.text("host"),
            port=t.integer("port", 1),
            sender=t.text("sender"),
            recipients=t.texts("recipients"),
            security=t.text("security", SECURITY),
            username=_secret(t, "username", False),
            password=_secret(t, "password", False),
            timeout=timeout,
        )
    t.done()
    return name, channel


def load_settings(path: str | Path | None = None) -> NotifySettings:
    """Read and check the notification settings (secrets resolved now)."""
    top = read_config_file(path or os.environ.get("GRID_NOTIFY") or NOTIFY_FILE)
    r = top.table("retry")
    retry = Retry(
        attempts=r.integer("attempts", 1),
        first_delay_seconds=r.number("first_delay_seconds"),
        timeout_seconds=r.number("timeout_seconds", positive=True),
        give_up_after_hours=r.number("give_up_after_hours", positive=True),
    )
    r.done()
    channels: dict[str, Channel] = {}
    declared: set[str] = set()
    for t in top.tables("channel"):
        name, channel = _channel(t, retry.timeout_seconds)
        if name in declared:
            raise t.fail("name", f"渠道名 {name} 重复")
        declared.add(name)
        if channel is not None:
            channels[name] = channel
    e = top.table("events")
    events = {}
    for event in EVENTS:
        names = e.texts(event)
        unknown = [n for n in names if n not in declared]
        if unknown:
            raise e.fail(event, f"未定义的渠道：{'、'.join(unknown)}")
        events[event] = names
    due_soon_days = e.integer("due_soon_days", 0)
    e.done()
    url = top.raw("dashboard_url", "") or None
    top.done()
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError("配置文件 notify.toml 中的 dashboard_url 应以 http:// 或 https:// 开头")
    return NotifySettings(channels, events, retry, due_soon_days, url)
