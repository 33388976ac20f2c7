"""The glossary (metrics/glossary.py): one name, unit and format per metric, used by
every page, and the names it retired never come back."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import polars as pl
import pytest

from metrics import Filter, glossary
from metrics.alert_rules import INDICATORS
from metrics.config import COMPONENTS
from metrics.explain import COMPONENT_LABELS, TOPICS, explain
from metrics.glossary import (
    GLOSSARY,
    change_text,
    column,
    entry,
    header,
    label,
    shown_value,
    value_text,
    value_with_unit,
)
from metrics.overview import scorecard
from store.paths import REPO_ROOT
from tests.support.page_runs import computed

# Names that meant the same metric as another name, or were too close to another
# metric's name; the glossary retired them (old name → the one the product uses now).
RETIRED = {
    "制度落实覆盖率": "制度达标项占比",
    "全达标子网格月占比": "制度落实率",
    "督办（件）": "期末超期未办结（件）",
    "期末超期（件）": "期末超期未办结（件）",
    "超期未办结（件）": "期末超期未办结（件）",
    "民情件数": "收集民情民意（件）",
    "收集民情（件）": "收集民情民意（件）",
    "群众满意度": "满意度得分率",
}


def test_values_are_written_by_their_entry():
    assert value_text("study_coverage", 0.85321) == "85.3%"
    assert value_text("fortress_index", 78.43) == "78.4"
    assert value_text("reports", 1234) == "1,234"
    assert value_text("resolve_median_h", 5.26) == "5.3 小时"
    assert value_text("resolve_median_h", 72) == "3.0 天"  # 48 hours and more: days
    assert value_text("overdue_h", 36) == "1.5"  # a days column stored in hours
    assert value_text("total", 74.286) == "74.29"
    assert value_text("surveyed", False) == "无测评"
    for missing in (None, math.nan):
        assert value_text("study_coverage", missing) == "—"
    assert value_with_unit("reports", 3) == "3 件"
    assert value_with_unit("fortress_index", 78.43) == "78.4 分"
    assert value_with_unit("study_coverage", 0.5) == "50.0%"


def test_changes_say_their_unit():
    assert change_text("compliant_share", 0.021) == "+2.1个百分点"
    assert change_text("fortress_index", -0.44) == "-0.4分"
    assert change_text("open_at_end", 3) == "+3件"
    assert change_text("study_coverage", None) is None


def test_a_table_column_is_scaled_rounded_and_headed_by_its_entry():
    frame = pl.DataFrame(
        {
            "coverage": [0.85321, None],
            "overdue_h": [36.0, 100.0],
            "surveyed": [True, None],
            "month": [date(2026, 5, 1), date(2026, 11, 1)],
            "reported_at": [datetime(2026, 5, 3, 14, 30), None],
            "area_points": [25.0, 25.0],
        }
    )
    shown = frame.select(
        column("coverage", "study_coverage"),
        column("overdue_h"),
        column("surveyed"),
        column("month"),
        column("reported_at"),
        column("area_points", title="分值（满分）"),
    )
    assert shown.columns == [
        "学习覆盖率（%）",
        "超期（天）",
        "测评",
        "月份",
        "上报时间",
        "分值（满分）",
    ]
    assert shown["学习覆盖率（%）"].to_list() == [85.3, None]
    assert shown["超期（天）"].to_list() == [1.5, 4.2]
    assert shown["测评"].to_list() == ["已测评", None]
    assert shown["月份"].to_list() == ["2026年5月", "2026年11月"]
    assert shown["上报时间"].to_list() == ["2026-05-03 14:30", None]
    assert shown["分值（满分）"].to_list() == [25, 25]  # no decimals: a whole number
    assert shown_value("study_coverage", 0.85321) == 85.3


def test_every_header_is_one_metric():
    headers = [m.header for m in GLOSSARY.values()]
    repeated = {h for h in headers if headers.count(h) > 1}
    assert not repeated


def test_every_scorecard_component_and_alert_has_an_entry(sample_db):
    cards = computed(sample_db, scorecard, Filter(date(2026, 5, 1), date(2026, 10, 1), "village"))
    for name in cards.columns:
        assert entry(name).label
    for component in COMPONENTS:
        assert COMPONENT_LABELS[component] == label(component)
    for kpi in INDICATORS:
        assert label(kpi)
    with pytest.raises(KeyError, match="不在词汇表中"):
        entry("no_such_metric")


def test_entries_are_complete():
    for m in GLOSSARY.values():
        assert m.kind in glossary.KINDS + glossary.TIME_KINDS, m.key
        if m.kind not in ("text", *glossary.TIME_KINDS):
            assert m.help.endswith("。"), m.key  # a metric says what it is, in a sentence
    assert header("compliant_share") != header("activity_coverage")
    assert label("compliant_share") == "制度落实率"


def test_retired_names_are_gone_from_pages_ui_and_method_notes():
    sources = [*REPO_ROOT.glob("app_pages/*.py"), *REPO_ROOT.glob("ui/**/*.py")]
    sources += [REPO_ROOT / "metrics" / "explain.py", REPO_ROOT / "metrics" / "glossary.py"]
    notes = "\n".join(explain(topic) for topic in TOPICS)
    for old, new in RETIRED.items():
        assert old not in notes, old
        for path in sources:
            assert old not in path.read_text(encoding="utf-8"), (old, path.name)
        assert any(new in (m.header, m.label) for m in GLOSSARY.values()), new
    # No page formats a rate by hand: the glossary does (columns, cards, hovers).
    for path in REPO_ROOT.glob("app_pages/*.py"):
        assert not re.search(r"\*\s*100\b", path.read_text(encoding="utf-8")), path.name
