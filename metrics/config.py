"""The metric configuration: ``data/config/*.toml``, read and validated at start.

Every requirement, limit, weight and threshold of the metrics (docs/metrics.md;
the keys in docs/configuration.md) lives in one of eight files (coverage, study,
response, indices, assessment, alerts, completeness and the deduction catalogue,
deductions; see :mod:`store.deduction_catalogue`). :func:`load_config` reads
them all and checks every value; a bad or unknown key raises :class:`ConfigError`
whose message (Chinese, for the office staff who edit the files) names the file and
the key. The result is a tree of frozen dataclasses, hashable so that page caches can
key on it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from metrics.alert_rules import AlertRules, parse_alert_rules
from store.contracts import ACTIVITY_TYPES, REPORT_CATEGORIES
from store.deduction_catalogue import CATALOGUE_FILE, DeductionItem, parse_catalogue
from store.paths import CONFIG_DIR
from store.survey_raters import parse_rater_weights
from store.toml_config import ConfigTable, number_text, read_config_file

CONFIG_FILES = ("coverage", "study", "response", "indices", "assessment", "alerts", "completeness")
DEDUCTIONS_FILE = CATALOGUE_FILE.removesuffix(".toml")
AREA_KEYS = ("daily_ops", "org_life", "public_opinion", "governance")
COMPONENTS = (
    "activity_coverage",
    "compliant_share",
    "study_coverage",
    "home_study_share",
    "attendance_rate",
    "volunteer_reach",
    "report_collection",
    "on_time_accept_rate",
    "on_time_resolve_rate",
    "satisfaction",
)


@dataclass(frozen=True)
class Requirement:
    """One row of the 制度清单: ``min_count`` activities of a type per unit and month."""

    key: str
    label: str
    level: str  # "subgrid" or "village"
    activity_type: str
    min_count: int


@dataclass(frozen=True)
class CoverageConfig:
    requirements: tuple[Requirement, ...]

    @property
    def subgrid_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.level == "subgrid")

    @property
    def village_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.level == "village")


@dataclass(frozen=True)
class StudyConfig:
    not_reached_months: int


@dataclass(frozen=True)
class ResponseConfig:
    accept_limit_hours: float
    default_resolve_limit_hours: float
    resolve_limit_hours: tuple[tuple[str, float], ...]  # (category, hours) overrides
    backlog_age_edges_days: tuple[float, ...]
    target_per_subgrid_month: float

    def resolve_limit(self, category: str) -> float:
        """The 办结 limit (hours) of a category."""
        return dict(self.resolve_limit_hours).get(category, self.default_resolve_limit_hours)

    @property
    def backlog_labels(self) -> tuple[str, ...]:
        """Chinese labels of the age buckets, youngest first."""
        edges = [number_text(e) for e in self.backlog_age_edges_days]
        labels = [f"<{edges[0]}天"]
        labels += [f"{a}–{b}天" for a, b in pairwise(edges)]
        labels.append(f"≥{edges[-1]}天")
        return tuple(labels)


@dataclass(frozen=True)
class Threshold:
    min: float
    label: str


@dataclass(frozen=True)
class FortressConfig:
    coverage: float
    study: float
    collection: float
    handling: float
    survey: float
    survey_index: str
    # (rater, weight in per cent of the 测评 part); a rater missing for a unit and
    # month is left out and the others rescaled (docs/metrics.md, 党组织堡垒指数).
    survey_raters: tuple[tuple[str, float], ...]
    stars: tuple[Threshold, ...]

    def stars_for(self, value: float | None) -> str | None:
        return _label(self.stars, value)


# The things a member does that count as 作用发挥 (docs/metrics.md, 党员先锋指数).
CONTRIBUTION_KINDS = ("report", "volunteer", "reception", "patrol")


@dataclass(frozen=True)
class ContributionConfig:
    """作用发挥: points per thing done (``points``, one per :data:`CONTRIBUTION_KINDS`)
    and the points that give full marks for a half-year on the roll."""

    points: tuple[tuple[str, float], ...]
    full_marks_per_half_year: float

    def per(self, kind: str) -> float:
        return dict(self.points)[kind]


@dataclass(frozen=True)
class VanguardConfig:
    attendance: float
    study: float
    role: float
    survey: float
    survey_index: str
    survey_raters: tuple[tuple[str, float], ...]  # as FortressConfig.survey_raters
    contribution: ContributionConfig
    org_life_types: tuple[str, ...]
    present_credit: float
    leave_credit: float
    grades: tuple[Threshold, ...]

    def grade_for(self, value: float | None) -> str | None:
        return _label(self.grades, value)


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    points: float
    components: tuple[tuple[str, float], ...]  # (component, weight)


@dataclass(frozen=True)
class AssessmentConfig:
    member_deductions: bool
    areas: tuple[Area, ...]


@dataclass(frozen=True)
class CompletenessConfig:
    """报送情况: a month's unit first uploaded after day ``deadline_day`` of the next
    month is 迟报 (docs/metrics.md, 报送情况)."""

    deadline_day: int


@dataclass(frozen=True)
class DeductionConfig:
    """The deduction catalogue (:mod:`store.deduction_catalogue`)."""

    items: tuple[DeductionItem, ...]

    @property
    def not_counted(self) -> tuple[str, ...]:
        """The items a metric already scores: never counted as 反向扣分."""
        return tuple(i.item for i in self.items if not i.counted)


@dataclass(frozen=True)
class Config:
    """The whole metric configuration."""

    coverage: CoverageConfig
    study: StudyConfig
    response: ResponseConfig
    fortress: FortressConfig
    vanguard: VanguardConfig
    assessment: AssessmentConfig
    alerts: AlertRules
    deductions: DeductionConfig
    completeness: CompletenessConfig


# Points by which a value may fall short of a threshold and still reach it (floating-
# point rounding of a mean that is exactly on it; see metrics.formulas.label_for).
THRESHOLD_TOLERANCE = 1e-9


def _label(thresholds: tuple[Threshold, ...], value: float | None) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    for t in thresholds:
        if value >= t.min - THRESHOLD_TOLERANCE:
            return t.label
    return thresholds[-1].label


def _thresholds(tables: list[ConfigTable], name: str, parent: ConfigTable) -> tuple[Threshold, ...]:
    out = []
    for t in tables:
        out.append(Threshold(t.number("min", 0.0, 100.0), t.text("label")))
        t.done()
    mins = [t.min for t in out]
    if any(a <= b for a, b in pairwise(mins)):
        raise parent.fail(name, "各档 min 应从高到低严格递减")
    if mins[-1] != 0:
        raise parent.fail(name, "最后一档的 min 应为 0")
    return tuple(out)


def _weights_sum_to_100(table: ConfigTable, keys: tuple[str, ...], values: list[float]) -> None:
    if abs(sum(values) - 100.0) > 1e-9:
        raise table.fail(
            "+".join(keys), f"各部分分值之和应为 100，实际为 {number_text(round(sum(values), 6))}"
        )


def _coverage(t: ConfigTable) -> CoverageConfig:
    requirements = []
    for r in t.tables("requirement"):
        requirements.append(
            Requirement(
                key=r.text("key"),
                label=r.text("label"),
                level=r.text("level", ("subgrid", "village")),
                activity_type=r.text("activity_type", ACTIVITY_TYPES),
                min_count=r.integer("min_count", 1),
            )
        )
        r.done()
    keys = [r.key for r in requirements]
    if len(set(keys)) != len(keys):
        raise t.fail("requirement", "key 不能重复")
    if not any(r.level == "subgrid" for r in requirements):
        raise t.fail("requirement", '至少需要一项 level = "subgrid" 的要求')
    t.done()
    return CoverageConfig(tuple(requirements))


def _study(t: ConfigTable) -> StudyConfig:
    out = StudyConfig(t.integer("not_reached_months", 1))
    t.done()
    return out


def _response(t: ConfigTable) -> ResponseConfig:
    accept = t.number("accept_limit_hours", positive=True)
    limits = t.table("resolve_limit_hours")
    default = limits.number("default", positive=True)
    overrides = []
    for category in sorted(set(limits.data) - {"default"}):
        if category not in REPORT_CATEGORIES:
            raise limits.fail(category, f"未知的事项类别，应为 {'、'.join(REPORT_CATEGORIES)} 之一")
        overrides.append((category, limits.number(category, positive=True)))
    limits.done()
    backlog = t.table("backlog")
    edges = backlog.raw("age_edges_days")
    if (
        not isinstance(edges, list)
        or not edges
        or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in edges)
        or any(e <= 0 for e in edges)
        or any(a >= b for a, b in pairwise(edges))
    ):
        raise backlog.fail("age_edges_days", f"应为严格递增的正数列表，实际为 {edges!r}")
    backlog.done()
    collection = t.table("collection")
    target = collection.number("target_per_subgrid_month", positive=True)
    collection.done()
    t.done()
    return ResponseConfig(accept, default, tuple(overrides), tuple(float(e) for e in edges), target)


def _fortress(t: ConfigTable) -> FortressConfig:
    keys = ("coverage", "study", "collection", "handling", "survey")
    weights = [t.number(k) for k in keys]
    _weights_sum_to_100(t, keys, weights)
    out = FortressConfig(
        *weights,
        survey_index=t.text("survey_index"),
        survey_raters=parse_rater_weights(t),
        stars=_thresholds(t.tables("stars"), "stars", t),
    )
    t.done()
    return out


def _contribution(t: ConfigTable) -> ContributionConfig:
    points = tuple((k, t.number(k)) for k in CONTRIBUTION_KINDS)
    out = ContributionConfig(points, t.number("full_marks_per_half_year", positive=True))
    t.done()
    return out


def _vanguard(t: ConfigTable) -> VanguardConfig:
    keys = ("attendance", "study", "role", "survey")
    weights = [t.number(k) for k in keys]
    _weights_sum_to_100(t, keys, weights)
    survey_index = t.text("survey_index")
    survey_raters = parse_rater_weights(t)
    contribution = _contribution(t.table("contribution"))
    types = t.raw("org_life_types")
    if not isinstance(types, list) or not types or not all(x in ACTIVITY_TYPES for x in types):
        raise t.fail(
            "org_life_types", f"应为活动类型列表（{'、'.join(ACTIVITY_TYPES)}），实际为 {types!r}"
        )
    if len(set(types)) != len(types):
        raise t.fail("org_life_types", "活动类型不能重复")
    present = t.number("present_credit", 0.0, 1.0)
    leave = t.number("leave_credit", 0.0, 1.0)
    grades = _thresholds(t.tables("grades"), "grades", t)
    t.done()
    return VanguardConfig(
        *weights,
        survey_index,
        survey_raters,
        contribution,
        tuple(types),
        present,
        leave,
        grades,
    )


def _assessment(t: ConfigTable) -> AssessmentConfig:
    member_deductions = t.boolean("member_deductions")
    areas = []
    for a in t.tables("area"):
        key = a.text("key", AREA_KEYS)
        components = a.table("components")
        pairs = []
        for name in components.data:
            if name not in COMPONENTS:
                raise components.fail(name, f"未知的考核指标，应为 {'、'.join(COMPONENTS)} 之一")
            pairs.append((name, components.number(name, positive=True)))
        if not pairs:
            raise a.fail("components", "至少需要一个指标")
        components.done()
        areas.append(Area(key, a.text("label"), a.number("points", positive=True), tuple(pairs)))
        a.done()
    if sorted(a.key for a in areas) != sorted(AREA_KEYS):
        raise t.fail("area", f"应恰好包含 {'、'.join(AREA_KEYS)} 四项各一次")
    order = {k: i for i, k in enumerate(AREA_KEYS)}
    t.done()
    return AssessmentConfig(member_deductions, tuple(sorted(areas, key=lambda a: order[a.key])))


def _completeness(t: ConfigTable) -> CompletenessConfig:
    day = t.integer("deadline_day", 1)
    if day > 28:  # every month has the day
        raise t.fail("deadline_day", f"应不大于 28，实际为 {day!r}")
    t.done()
    return CompletenessConfig(day)


def _deductions(t: ConfigTable) -> DeductionConfig:
    items = parse_catalogue(t)
    for i, item in enumerate(items):
        if item.duplicates is not None and item.duplicates not in COMPONENTS:
            raise t.fail(
                f"deduction[{i}].duplicates",
                f"未知的指标 {item.duplicates!r}，应为 {'、'.join(COMPONENTS)} 之一",
            )
    return DeductionConfig(items)


def load_config(config_dir: str | Path = CONFIG_DIR) -> Config:
    """Read and validate every configuration file under ``config_dir``."""
    config_dir = Path(config_dir)
    names = (*CONFIG_FILES, DEDUCTIONS_FILE)
    files = {name: read_config_file(config_dir / f"{name}.toml") for name in names}
    indices = files["indices"]
    fortress = _fortress(indices.table("fortress"))
    vanguard = _vanguard(indices.table("vanguard"))
    indices.done()
    return Config(
        coverage=_coverage(files["coverage"]),
        study=_study(files["study"]),
        response=_response(files["response"]),
        fortress=fortress,
        vanguard=vanguard,
        assessment=_assessment(files["assessment"]),
        alerts=parse_alert_rules(files["alerts"]),
        deductions=_deductions(files[DEDUCTIONS_FILE]),
        completeness=_completeness(files["completeness"]),
    )


@functools.cache
def _cached(config_dir: str) -> Config:
    return load_config(config_dir)


def default_config() -> Config:
    """The configuration of ``data/config`` (read once per process)."""
    return _cached(str(CONFIG_DIR))
