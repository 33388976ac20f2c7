"""``data/config/procedures.toml``: the 程序清单's time limits, the 阵地 idle rule and
the 制度清单's quarterly and half-yearly systems, read and checked like every metric
file (a bad key names the file and the key, in Chinese).

Kept apart from :mod:`metrics.config` (the six index and coverage files): nothing of
the indices depends on it, and the pages that read it load it on their own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from store.contracts import ACTIVITY_TYPES, HANDLING_LEVELS
from store.paths import CONFIG_DIR
from store.toml_config import ConfigTable, read_config_file

PROCEDURES_FILE = "procedures.toml"
SYSTEM_SOURCES = ("activity", "review")
SYSTEM_FREQUENCIES = ("quarter", "half")


@dataclass(frozen=True)
class DecisionLimits:
    """Days a 重要事项 may wait at a stage (from the stage before) before it is overdue."""

    deliberate_within_days: float
    resolve_within_days: float
    publish_within_days: float


@dataclass(frozen=True)
class GovernanceLimits:
    """The 乡村治理 steps' limits: 受理 and 反馈 in hours, 例会讨论 in days, 办结 in hours
    per 办理层级 (``resolve_within_hours``: (level, hours) in HANDLING_LEVELS order)."""

    accept_within_hours: float
    forward_within_hours: float
    discuss_within_days: float
    resolve_within_hours: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class System:
    """A 制度清单 system judged per quarter or half-year for each unit of ``level``."""

    key: str
    label: str
    level: str
    frequency: str
    source: str
    activity_type: str | None = None
    min_count: int = 1


@dataclass(frozen=True)
class ProcedureConfig:
    decision: DecisionLimits
    governance: GovernanceLimits
    min_activities_per_month: int
    systems: tuple[System, ...]


def _system(t: ConfigTable) -> System:
    source = t.text("source", SYSTEM_SOURCES)
    activity = source == "activity"
    system = System(
        key=t.text("key"),
        label=t.text("label"),
        level=t.text("level", ("subgrid", "village")),
        frequency=t.text("frequency", SYSTEM_FREQUENCIES),
        source=source,
        activity_type=t.text("activity_type", ACTIVITY_TYPES) if activity else None,
        min_count=t.integer("min_count", minimum=1) if activity else 1,
    )
    if source == "review" and system.frequency != "half":
        raise t.fail("frequency", "子网格考评按半年进行，应为 half")
    t.done()
    return system


def parse_procedures(table: ConfigTable) -> ProcedureConfig:
    """The settings of a parsed procedures file (ConfigError naming file and key)."""
    d = table.table("decision")
    decision = DecisionLimits(
        *(
            d.number(k, positive=True)
            for k in ("deliberate_within_days", "resolve_within_days", "publish_within_days")
        )
    )
    d.done()
    g = table.table("governance")
    per_level = g.table("resolve_within_hours")
    resolve = tuple((level, per_level.number(level, positive=True)) for level in HANDLING_LEVELS)
    per_level.done()
    governance = GovernanceLimits(
        accept_within_hours=g.number("accept_within_hours", positive=True),
        forward_within_hours=g.number("forward_within_hours", positive=True),
        discuss_within_days=g.number("discuss_within_days", positive=True),
        resolve_within_hours=resolve,
    )
    g.done()
    places = table.table("places")
    minimum = places.integer("min_activities_per_month", minimum=1)
    places.done()
    systems = tuple(_system(t) for t in table.tables("system"))
    keys = [s.key for s in systems]
    if len(set(keys)) != len(keys):
        raise table.fail("system", "key 不能重复")
    table.done()
    return ProcedureConfig(decision, governance, minimum, systems)


@functools.cache
def procedure_config(config_dir: str | Path = CONFIG_DIR) -> ProcedureConfig:
    """The settings of ``config_dir`` (read once per process; ConfigError when bad)."""
    return parse_procedures(read_config_file(Path(config_dir) / PROCEDURES_FILE))
