"""The metric configuration: the shipped files load; a bad value names file and key."""

from __future__ import annotations

import re
import shutil

import pytest

from metrics.config import load_config
from metrics.filters import Filter, FilterError
from store.months import MonthError, parse_month
from store.paths import CONFIG_DIR
from store.toml_config import ConfigError


def test_shipped_configuration_holds_the_design_defaults():
    c = load_config()
    assert [(r.activity_type, r.min_count) for r in c.coverage.subgrid_requirements] == [
        ("主题党日", 1),
        ("学习教育", 1),
        ("子网格长接待日", 1),
        ("网格长巡查", 2),
    ]
    assert [r.activity_type for r in c.coverage.village_requirements] == ["网格工作例会"]
    assert c.response.accept_limit_hours == 24
    assert c.response.resolve_limit("安全稳定") == 48
    assert c.response.resolve_limit("文明风尚") == 168
    assert (c.fortress.coverage, c.fortress.survey) == (30, 30)
    assert c.fortress.stars_for(90) == "★★★★★" and c.fortress.stars_for(59.9) == "★"
    assert c.vanguard.leave_credit == 0.5
    # 民主评议党员 grades (calibrated on the sample data: tests/test_indices_calibration.py).
    grades = [c.vanguard.grade_for(v) for v in (90, 89.9, 40, 39.9, 20, 19.9, 0)]
    assert grades == ["优秀", "合格", "合格", "基本合格", "基本合格", "不合格", "不合格"]
    assert dict(c.fortress.survey_raters) == {"自评": 10, "党员群众测评": 70, "上级考评": 20}
    assert dict(c.vanguard.survey_raters) == {"自评": 20, "党员群众测评": 80}
    assert (c.vanguard.attendance, c.vanguard.study, c.vanguard.role, c.vanguard.survey) == (
        30,
        20,
        20,
        30,
    )
    assert c.vanguard.contribution.full_marks_per_half_year == 2
    assert set(c.deductions.not_counted) == {
        "未按规定召开主题党日",
        "网格巡查记录缺失",
        "民情事项超期未办结",
        "无故缺席组织生活",
    }
    assert [a.points for a in c.assessment.areas] == [25, 25, 25, 25]
    assert c.response.backlog_labels == ("<1天", "1–3天", "3–7天", "7–30天", "≥30天")


@pytest.fixture
def config_dir(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def edit(config_dir, name: str, old: str, new: str) -> None:
    path = config_dir / f"{name}.toml"
    text = path.read_text(encoding="utf-8")
    assert re.search(old, text, flags=re.M), old
    path.write_text(re.sub(old, new, text, count=1, flags=re.M), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "old", "new", "key"),
    [
        ("indices", r"^survey = 30", "survey = -30", "fortress.survey"),
        ("indices", r"^survey = 30", "survey = 20", "fortress.coverage+study"),
        ("indices", r"^survey = 30", 'survey = "30"', "fortress.survey"),
        ("indices", r"^min = 80", "min = 95", "fortress.stars"),
        ("indices", r"^leave_credit = 0.5", "leave_credit = 1.5", "vanguard.leave_credit"),
        ("indices", r'^"上级考评" = 20', '"上级考评" = 30', "fortress.survey_raters"),
        ("indices", r'^"自评" = 10', '"他评" = 10', "fortress.survey_raters.他评"),
        ("indices", r'^"自评" = 20', '"自评" = -20', "vanguard.survey_raters.自评"),
        (
            "indices",
            r"^full_marks_per_half_year = 2",
            "full_marks_per_half_year = 0",
            "vanguard.contribution.full_marks_per_half_year",
        ),
        ("indices", r"^patrol = 1", "patrols = 1", "vanguard.contribution"),
        (
            "deductions",
            r'^duplicates = "activity_coverage"',
            'duplicates = "出勤"',
            "deduction[5].duplicates",
        ),
        (
            "deductions",
            r'^applies_to = "subgrid"',
            'applies_to = "town"',
            "deduction[0].applies_to",
        ),
        ("deductions", r'^item = "台账资料弄虚作假"', 'item = "台账资料报送不及时"', "deduction"),
        (
            "indices",
            r"^org_life_types = \[.*\]",
            'org_life_types = ["打麻将"]',
            "vanguard.org_life_types",
        ),
        (
            "coverage",
            r'^activity_type = "学习教育"',
            'activity_type = "学习"',
            "requirement[1].activity_type",
        ),
        ("coverage", r"^min_count = 2", "min_count = 0", "requirement[3].min_count"),
        ("coverage", r'^level = "village"', 'level = "town"', "requirement[4].level"),
        ("response", r"^age_edges_days = .*", "age_edges_days = [3, 1]", "backlog.age_edges_days"),
        ("response", r'^"安全稳定" = 48', '"治安" = 48', "resolve_limit_hours.治安"),
        ("response", r"^accept_limit_hours = 24", "accept_limit_hours = 0", "accept_limit_hours"),
        ("study", r"^not_reached_months = 2", "not_reached_month = 2", "not_reached_month"),
        ("assessment", r"activity_coverage = 1.0", "bogus = 1.0", "area[0].components.bogus"),
        ("assessment", r'^key = "governance"', 'key = "daily_ops"', "area"),
        ("alerts", r"^red_below = 0.6", "red_below = 6", "village.activity_coverage.red_below"),
        ("alerts", r"^\[village.study_coverage\]", "[village.attendance]", "village.attendance"),
        ("alerts", r'^level = "红色"', 'level = "橙色"', "unreported.level"),
        ("alerts", r"^worst = 2", "worst = 0", "village.worst"),
    ],
)
def test_bad_value_names_file_and_key(config_dir, name, old, new, key):
    edit(config_dir, name, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    message = str(caught.value)
    assert f"{name}.toml" in message
    assert key in message


def test_missing_file_and_bad_syntax(config_dir):
    (config_dir / "alerts.toml").unlink()
    with pytest.raises(ConfigError, match=r"alerts\.toml"):
        load_config(config_dir)
    shutil.copy(CONFIG_DIR / "alerts.toml", config_dir / "alerts.toml")
    (config_dir / "study.toml").write_text("not_reached_months = = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"study\.toml.*格式错误"):
        load_config(config_dir)


def test_filter_parsing_and_ranges():
    f = Filter.parse("2026-05", "2026-10", "village", "CJ03")
    assert (f.n_months, f.end_exclusive.isoformat()) == (6, "2026-11-01")
    assert f.previous() == Filter.parse("2025-11", "2026-04", "village", "CJ03")
    assert Filter.parse("2026-1", "2026-1").label() == "2026年1月"
    assert f.label() == "2026年5月—2026年10月"
    assert Filter.parse("2026-03", "2026-03", village_id="").village_id is None
    for bad in ("2026-13", "2026/10", "26-10", ""):
        with pytest.raises(MonthError, match="YYYY-MM"):
            parse_month(bad)
        with pytest.raises(FilterError, match="YYYY-MM"):
            Filter.parse(bad, "2026-10")
    with pytest.raises(FilterError, match="晚于"):
        Filter.parse("2026-10", "2026-05")
    with pytest.raises(FilterError, match="层级"):
        Filter.parse("2026-05", "2026-10", "county")
