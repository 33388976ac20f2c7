"""The 责任清单 (``data/config/duties.toml``): the six-level team's posts and its duties.

Three layers read it, which is why it lives on the ground floor: the metrics measure
each duty by its signal (:mod:`metrics.duties`), the loader accepts a 履职评价 file
only for the duties the list marks 需人工评价 (:mod:`etl.validation.list_rules`), and
the sample generator rates exactly those (:mod:`etl.generate.lists`). The rules are in
docs/metrics.md (责任落实); the keys in docs/configuration.md (duties.toml).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from store.contracts import ACTIVITY_TYPES, RATING_RESULTS, ROLES
from store.paths import CONFIG_DIR
from store.toml_config import ConfigTable, read_config_file

CATALOGUE_FILE = "duties.toml"
TEAM_ROLES = ROLES[:5] + ROLES[6:]  # the six levels: every role but the rank and file 党员
UNIT_LEVELS = ("village", "subgrid")
FREQUENCIES = {"month": "每月", "quarter": "每季度", "half": "每半年"}
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half": 6}
MANUAL = "manual"
# Each signal and the optional keys it takes (min_count for counts, min_share for shares).
SIGNAL_KEYS: dict[str, tuple[str, ...]] = {
    "organise": ("activity_types", "min_count"),
    "attend": ("activity_types", "min_count"),
    "report": ("min_count",),
    "accept": ("within_hours", "min_share"),
    "forward": ("within_hours", "min_share"),
    "discuss": ("min_share",),
    "supervise": ("min_share",),
    "publish": ("within_days", "min_share"),
    "study_notice": ("min_count",),
    "pairing": ("min_share",),
    MANUAL: (),
}
# Signals whose duty is due only when there was something to do in the period.
CONDITIONAL_SIGNALS = ("accept", "forward", "discuss", "supervise", "publish", "pairing")
RATING_DONE, RATING_NOT_DONE = RATING_RESULTS


@dataclass(frozen=True)
class Post:
    """People a unit needs in one role: ``count``, or one per ``members_per_post`` party
    members of the unit when that needs more."""

    role: str
    per: str
    count: int
    members_per_post: int | None = None


@dataclass(frozen=True)
class Duty:
    """One duty of the 责任清单 and the signal that shows it done (see duties.toml)."""

    id: str
    role: str
    text: str
    frequency: str
    signal: str
    activity_types: tuple[str, ...] = ()
    min_count: int = 1
    min_share: float = 1.0
    within_hours: float | None = None
    within_days: float | None = None

    @property
    def measured(self) -> bool:
        """Whether the data shows it done (else 需人工评价, scored by a 履职评价 upload)."""
        return self.signal != MANUAL

    @property
    def signal_text(self) -> str:
        """The signal in words, as the catalogue table shows it."""
        per = FREQUENCIES[self.frequency]
        types = "、".join(self.activity_types)
        share = "全部" if self.min_share >= 1 else f"不少于 {self.min_share:.0%} "
        texts = {
            "organise": f"{per}组织{types}不少于 {self.min_count} 次",
            "attend": f"{per}参加{types}不少于 {self.min_count} 次",
            "report": f"{per}上报民情线索不少于 {self.min_count} 条",
            "accept": f"{per}本子网格事项{share}在 {_n(self.within_hours)} 小时内受理",
            "forward": f"{per}上报总网格的事项{share}在核实后 {_n(self.within_hours)} 小时内反馈",
            "discuss": f"{per}反馈至总网格的事项{share}经网格工作例会讨论",
            "supervise": f"{per}提议的重要事项{share}经镇领导督导",
            "publish": f"{per}决议的重要事项{share}在 {_n(self.within_days)} 日内公示",
            "study_notice": f"{per}下发学习提示不少于 {self.min_count} 次",
            "pairing": f"{per}结对党员{share}与帮带人共同参加活动",
            MANUAL: "需人工评价（履职评价上传）",
        }
        return texts[self.signal]


@dataclass(frozen=True)
class DutyCatalogue:
    """The posts and duties of the 责任清单, in the file's order."""

    posts: tuple[Post, ...]
    duties: tuple[Duty, ...]

    def of_role(self, role: str) -> tuple[Duty, ...]:
        return tuple(d for d in self.duties if d.role == role)

    @property
    def manual_ids(self) -> tuple[str, ...]:
        """The ids of the duties scored through a 履职评价 upload."""
        return tuple(d.id for d in self.duties if not d.measured)


def _n(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def _duty(t: ConfigTable) -> Duty:
    signal = t.text("signal", tuple(SIGNAL_KEYS))
    allowed = SIGNAL_KEYS[signal]
    for key in ("activity_types", "min_count", "min_share", "within_hours", "within_days"):
        if key in t.data and key not in allowed:
            raise t.fail(key, f"信号 {signal} 不使用此项")
    types: tuple[str, ...] = ()
    if "activity_types" in allowed:
        types = t.texts("activity_types")
        bad = [x for x in types if x not in ACTIVITY_TYPES]
        if not types or bad:
            raise t.fail("activity_types", f"应为活动类型列表（{'、'.join(ACTIVITY_TYPES)}）")
    frequency = t.text("frequency", tuple(FREQUENCIES))
    if signal == MANUAL and frequency != "half":
        raise t.fail("frequency", "需人工评价的职责按半年评价，应为 half")
    duty = Duty(
        id=t.text("id"),
        role=t.text("role", TEAM_ROLES),
        text=t.text("text"),
        frequency=frequency,
        signal=signal,
        activity_types=types,
        min_count=t.integer("min_count", minimum=1) if "min_count" in allowed else 1,
        min_share=t.number("min_share", maximum=1.0, positive=True)
        if "min_share" in allowed
        else 1.0,
        within_hours=t.number("within_hours", positive=True) if "within_hours" in allowed else None,
        within_days=t.number("within_days", positive=True) if "within_days" in allowed else None,
    )
    t.done()
    return duty


def _post(t: ConfigTable) -> Post:
    per_members = t.raw("members_per_post", None)
    post = Post(
        role=t.text("role", TEAM_ROLES),
        per=t.text("per", UNIT_LEVELS),
        count=t.integer("count", minimum=1),
        members_per_post=None if per_members is None else t.integer("members_per_post", 1),
    )
    t.done()
    return post


def parse_catalogue(table: ConfigTable) -> DutyCatalogue:
    """The posts and duties of a parsed catalogue file (ConfigError naming file and key)."""
    posts = tuple(_post(t) for t in table.tables("post"))
    duties = tuple(_duty(t) for t in table.tables("duty"))
    table.done()
    for what, names in (("post", [p.role for p in posts]), ("duty", [d.id for d in duties])):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise table.fail(what, f"不能重复：{'、'.join(repeated)}")
    return DutyCatalogue(posts, duties)


def catalogue_path(config_dir: str | Path = CONFIG_DIR) -> Path:
    """Where the catalogue of ``config_dir`` is."""
    return Path(config_dir) / CATALOGUE_FILE


@functools.cache
def read_catalogue(config_dir: str | Path = CONFIG_DIR) -> DutyCatalogue:
    """The catalogue of ``config_dir``, read once per process (ConfigError when bad)."""
    return parse_catalogue(read_config_file(catalogue_path(config_dir)))
