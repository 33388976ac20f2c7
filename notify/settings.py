"""The notification settings: ``data/config/notify.toml`` (or ``$GRID_NOTIFY``).

Channels are named; events (due soon, overdue, not reported, the monthly briefing)
list the channels they go to, and a channel may name the villages whose own group it
is (``villages``): reminders about a village's items go there too. Secrets never
live in the file: a webhook URL (it
carries the robot's token), a signing secret or an SMTP password is read from an
environment variable (``…_env``) or from a file outside the repository
(``…_file``, e.g. ``/etc/grid/dingtalk.secret``). Every key is documented in
docs/configuration.md; a bad key stops with a Chinese message naming it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
COMMON_KEYS = {"name", "kind", "enabled", "villages"}
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
    briefing_day: int = 5  # the day of the month the last month's briefing goes out
    # village id → the channels of that village's own group (a channel's ``villages``)
    village_channels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def channel_names(self, event: str, village_id: str | None = None) -> list[str]:
        """The enabled channels an event goes to: the event's own, and for a reminder
        about one village the channels of that village's group."""
        names = [*self.events.get(event, ()), *self.village_channels.get(village_id or "", ())]
        return [n for n in dict.fromkeys(names) if n in self.channels]

    def channels_for(self, event: str, village_id: str | None = None) -> list[Channel]:
        """The enabled channels an event goes to (see :meth:`channel_names`)."""
        return [self.channels[n] for n in self.channel_names(event, village_id)]


def _secret(t: ConfigTable, stem: str, required: bool, environ: Mapping[str, str]) -> str | None:
    """The value of ``{stem}_env`` (an environment variable) or ``{stem}_file``."""
    env = t.raw(f"{stem}_env", None)
    path = t.raw(f"{stem}_file", None)
    if env is not None and path is not None:
        raise t.fail(f"{stem}_env", f"{stem}_env 与 {stem}_file 只能设一个")
    if env is not None:
        value = environ.get(t.text(f"{stem}_env"), "").strip()
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


def _channel(
    t: ConfigTable, timeout: float, environ: Mapping[str, str]
) -> tuple[str, Channel | None, tuple[str, ...]]:
    """(name, the channel or None when disabled, the villages whose group it is)."""
    name = t.text("name")
    kind = t.text("kind", KINDS)
    enabled = t.boolean("enabled")
    villages = t.texts("villages") if "villages" in t.data else ()
    if not enabled:  # secrets are not looked up, but a misspelt key is still refused
        unknown = sorted(set(t.data) - COMMON_KEYS - KEYS[kind])
        if unknown:
            raise t.fail(unknown[0], "未知的配置项")
        return name, None, villages
    if kind == "wecom":
        channel: Channel = WeComRobot(name, _secret(t, "url", True, environ) or "", timeout)
    elif kind == "dingtalk":
        url = _secret(t, "url", True, environ) or ""
        channel = DingTalkRobot(name, url, _secret(t, "secret", False, environ), timeout)
    else:
        channel = EmailChannel(
            name,
            host=t.text("host"),
            port=t.integer("port", 1),
            sender=t.text("sender"),
            recipients=t.texts("recipients"),
            security=t.text("security", SECURITY),
            username=_secret(t, "username", False, environ),
            password=_secret(t, "password", False, environ),
            timeout=timeout,
        )
    t.done()
    return name, channel, villages


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> NotifySettings:
    """Read and check the notification settings (secrets resolved now, from
    ``environ``: the process's environment unless a handed-over command brings its own)."""
    environ = os.environ if environ is None else environ
    top = read_config_file(path or environ.get("GRID_NOTIFY") or NOTIFY_FILE)
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
    village_channels: dict[str, tuple[str, ...]] = {}
    for t in top.tables("channel"):
        name, channel, villages = _channel(t, retry.timeout_seconds, environ)
        if name in declared:
            raise t.fail("name", f"渠道名 {name} 重复")
        declared.add(name)
        if channel is not None:
            channels[name] = channel
            for village in villages:
                village_channels[village] = (*village_channels.get(village, ()), name)
    e = top.table("events")
    events = {}
    for event in EVENTS:
        names = e.texts(event)
        unknown = [n for n in names if n not in declared]
        if unknown:
            raise e.fail(event, f"未定义的渠道：{'、'.join(unknown)}")
        events[event] = names
    due_soon_days = e.integer("due_soon_days", 0)
    briefing_day = e.integer("briefing_day", 1)
    if briefing_day > 28:
        raise e.fail("briefing_day", "应为 1–28（每个月都有的日子）")
    e.done()
    url = top.raw("dashboard_url", "") or None
    top.done()
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError("配置文件 notify.toml 中的 dashboard_url 应以 http:// 或 https:// 开头")
    return NotifySettings(
        channels, events, retry, due_soon_days, url, briefing_day, village_channels
    )
