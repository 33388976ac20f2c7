"""The rules of 预警 (``data/config/alerts.toml``): per level and indicator, the
thresholds of a 黄色 and a 红色 alert. Read by :mod:`metrics.config` with the rest of
the configuration; applied by :mod:`metrics.alerts`. Definitions: docs/metrics.md, 预警.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.toml_config import ConfigTable

LEVELS = ("红色", "黄色")
OVERDUE = "overdue_reports"
# The indicators a rule may name: the 总览 KPIs and 期末超期未办结 (more is worse).
INDICATORS = (
    "compliant_share",
    "activity_coverage",
    "study_coverage",
    "on_time_resolve_rate",
    "fortress_index",
    OVERDUE,
)


@dataclass(frozen=True)
class Rule:
    """The thresholds of one indicator at one level (None: that test is not made).
    ``yellow``/``red`` are levels the value must not fall below (rise above, for
    :data:`OVERDUE`); ``*_drop`` are falls since the previous period."""

    kpi: str
    yellow: float | None = None
    red: float | None = None
    yellow_drop: float | None = None
    red_drop: float | None = None

    @property
    def more_is_worse(self) -> bool:
        return self.kpi == OVERDUE


@dataclass(frozen=True)
class LevelRules:
    """The rules of one level; a unit below a red threshold is 红色 only when it is
    among the ``worst`` units of its level in the town."""

    worst: int
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class AlertRules:
    """Every rule: villages, sub-grids, and the level of a 未报送 alert."""

    village: LevelRules
    subgrid: LevelRules
    unreported_level: str = "红色"


def _level_rules(t: ConfigTable) -> LevelRules:
    worst = t.integer("worst", 1)
    rules = []
    for kpi in [k for k in t.data if k != "worst"]:
        if kpi not in INDICATORS:
            raise t.fail(kpi, f"未知的指标，应为 {'、'.join(INDICATORS)} 之一")
        rules.append(_rule(kpi, t.table(kpi)))
    t.done()
    return LevelRules(worst, tuple(rules))


def _rule(kpi: str, r: ConfigTable) -> Rule:
    top = 100.0 if kpi == "fortress_index" else None if kpi == OVERDUE else 1.0
    beyond, drop = ("above", None) if kpi == OVERDUE else ("below", "drop")

    def get(name: str) -> float | None:
        return r.number(name, 0.0, top) if name in r.data else None

    rule = Rule(
        kpi,
        yellow=get(f"yellow_{beyond}"),
        red=get(f"red_{beyond}"),
        yellow_drop=get(f"yellow_{drop}") if drop else None,
        red_drop=get(f"red_{drop}") if drop else None,
    )
    r.done()
    return rule


def parse_alert_rules(top: ConfigTable) -> AlertRules:
    """The rules of a parsed ``alerts.toml`` (ConfigError naming file and key)."""
    empty = LevelRules(1, ())
    village = _level_rules(top.table("village")) if "village" in top.data else empty
    subgrid = _level_rules(top.table("subgrid")) if "subgrid" in top.data else empty
    level = "红色"
    if "unreported" in top.data:
        unreported = top.table("unreported")
        level = unreported.text("level", LEVELS)
        unreported.done()
    top.done()
    return AlertRules(village, subgrid, level)
