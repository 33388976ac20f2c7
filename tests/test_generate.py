"""The sample generator: deterministic, well-formed and realistic."""

from __future__ import annotations

import filecmp
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from etl.canonical_csv import read_canonical_csv
from etl.generate import generate
from etl.generate.reports import STALL_DAYS
from etl.generate.seasons import SPRING_FESTIVAL
from store.contracts import KINDS, REPORT_CATEGORIES
from store.deduction_catalogue import read_catalogue


def _read_all(sample_dir: Path, kind: str) -> pl.DataFrame:
    frames = []
    for path in sorted(sample_dir.glob(f"20??-??/{kind}.csv")):
        _, frame = read_canonical_csv(path, KINDS[kind])
        frames.append(frame.with_columns(pl.lit(path.parent.name).alias("file_month")))
    return pl.concat(frames)


@pytest.fixture(scope="module")
def tables(sample_dir):
    names = ("activity", "attendance", "report", "evaluation", "deduction")
    out = {name: _read_all(sample_dir, name) for name in names}
    _, out["person"] = read_canonical_csv(sample_dir / "registry" / "person.csv", KINDS["person"])
    return out


def _tree(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, months=4, end=date(2026, 6, 1), seed=7)
    generate(b, months=4, end=date(2026, 6, 1), seed=7)
    assert _tree(a) == _tree(b)
    names = [rel.name for rel in _tree(a)]
    logs = ("activity.csv", "attendance.csv", "report.csv", "deduction.csv")
    assert sum(n in logs for n in names) == 4 * 4  # 4 log kinds a month
    assert names.count("evaluation.csv") == names.count("duty_rating.csv") == 1  # June
    assert names.count("study_notice.csv") == 4 and names.count("pairing.csv") == 1
    for rel in _tree(a):
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_other_seed_gives_other_data(tmp_path):
    generate(tmp_path / "a", months=2, end=date(2026, 6, 1), seed=7)
    generate(tmp_path / "b", months=2, end=date(2026, 6, 1), seed=8)
    one = (tmp_path / "a" / "2026-06" / "attendance.csv").read_bytes()
    two = (tmp_path / "b" / "2026-06" / "attendance.csv").read_bytes()
    assert one != two


def test_files_use_canonical_chinese_headers(sample_dir):
    for kind in ("activity", "attendance", "report", "evaluation", "deduction"):
        path = next(sample_dir.glob(f"20??-??/{kind}.csv"))
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header == KINDS[kind].headers


def test_ids_are_unique_and_references_resolve(tables, sample_dir):
    activity, attendance, report = tables["activity"], tables["attendance"], tables["report"]
    person = tables["person"]
    assert activity["activity_id"].n_unique() == activity.height
    assert attendance.select("activity_id", "person_id").is_duplicated().sum() == 0
    assert attendance["activity_id"].is_in(activity["activity_id"].implode()).all()
    assert attendance["person_id"].is_in(person["person_id"].implode()).all()
    reporters = report["reporter_id"].drop_nulls()
    assert reporters.is_in(person["person_id"].implode()).all()
    # an attendance row is never in an earlier file than its activity
    joined = attendance.join(activity, on="activity_id", suffix="_act")
    assert (joined["file_month"] == joined["file_month_act"]).all()


def test_people_attend_only_while_on_the_roll(tables):
    joined = (
        tables["attendance"]
        .join(tables["activity"], on="activity_id")
        .join(tables["person"], on="person_id")
    )
    on_roll = (pl.col("active_from") <= pl.col("activity_date")) & (
        pl.col("active_to").is_null() | (pl.col("active_to") >= pl.col("activity_date"))
    )
    assert joined.filter(~on_roll).height == 0
    # and people do join and leave within the range
    assert tables["person"].filter(pl.col("active_to") >= pl.date(2024, 11, 1)).height > 10
    assert tables["person"].filter(pl.col("active_from") >= pl.date(2024, 11, 1)).height > 10


def test_elderly_members_are_reached_at_home(tables):
    study = tables["activity"].filter(pl.col("activity_type") == "学习教育")
    rows = (
        tables["attendance"]
        .filter(pl.col("status") == "出席")
        .join(study, on="activity_id")
        .join(tables["person"], on="person_id")
        .with_columns(
            (pl.col("activity_date").dt.year() - pl.col("birth_year") > 75).alias("elderly"),
            (pl.col("mode") == "送学上门").alias("home"),
        )
        .group_by("elderly")
        .agg(pl.col("home").mean())
    )
    share = dict(rows.iter_rows())
    assert share[True] > 0.5
    assert share[False] < 0.1
    assert share[True] > 5 * share[False]


def test_leave_and_absence_both_occur(tables):
    counts = dict(tables["attendance"]["status"].value_counts().iter_rows())
    assert set(counts) == {"出席", "请假", "缺席"}
    total = sum(counts.values())
    assert 0.6 < counts["出席"] / total < 0.95
    assert counts["请假"] > 0.02 * total and counts["缺席"] > 0.02 * total


def test_spring_festival_month_is_quieter(tables):
    per_month = (
        tables["activity"]
        .group_by(pl.col("activity_date").dt.strftime("%Y-%m").alias("m"))
        .len()
        .sort("m")
    )
    counts = dict(per_month.iter_rows())
    median = sorted(counts.values())[len(counts) // 2]
    for year, sf in SPRING_FESTIVAL.items():
        key = f"{year}-{sf.month:02d}"
        if key in counts:
            assert counts[key] < 0.9 * median, key


def test_villages_differ(tables):
    by_village = (
        tables["attendance"]
        .join(tables["activity"], on="activity_id")
        .filter(pl.col("activity_type") == "主题党日")
        .group_by("village_id")
        .agg((pl.col("status") == "出席").mean().alias("rate"))
    )
    assert by_village.height == 14
    assert by_village["rate"].max() - by_village["rate"].min() > 0.1


def test_reports_have_realistic_lifecycles(tables):
    report = tables["report"]
    latest = report.sort("file_month").group_by("report_id").last()
    assert set(latest["category"].unique()) == set(REPORT_CATEGORIES)
    hours = latest.with_columns(
        ((pl.col("resolved_at") - pl.col("reported_at")).dt.total_seconds() / 3600).alias("h")
    ).filter(pl.col("h").is_not_null())
    med = dict(
        hours.group_by(pl.col("category") == "安全稳定").agg(pl.col("h").median()).iter_rows()
    )
    assert med[True] < med[False] / 2
    overdue = hours.filter(
        ((pl.col("category") == "安全稳定") & (pl.col("h") > 48))
        | ((pl.col("category") != "安全稳定") & (pl.col("h") > 168))
    )
    assert 0.03 < overdue.height / hours.height < 0.4
    # some reports are still open when the range ends, some were never accepted or refused
    statuses = dict(latest["status"].value_counts().iter_rows())
    assert statuses["已办结"] > 0.8 * latest.height
    assert statuses.get("处理中", 0) > 0 and statuses.get("待受理", 0) > 0
    assert statuses.get("不予受理", 0) > 0
    # a report opened in one month and closed later comes back with the same id
    repeated = report.group_by("report_id").agg(pl.col("status").n_unique().alias("n"))
    assert repeated.filter(pl.col("n") > 1).height > 20
    assert latest.filter(pl.col("status") == "已办结")["satisfaction"].is_not_null().all()
    assert latest.filter(pl.col("status") != "已办结")["satisfaction"].is_null().all()


def test_evaluations_are_half_yearly(tables):
    ev = tables["evaluation"]
    assert set(ev["file_month"].str.slice(5, 2).unique()) <= {"06", "12"}
    assert set(ev["period"].unique()) == {"2024H2", "2025H1", "2025H2", "2026H1"}
    assert ev["score"].is_between(0, 100).all()
    assert set(ev["index_name"].unique()) == {"堡垒指数", "先锋指数"}
    raters = ev.group_by("index_name").agg(pl.col("rater").unique().sort())
    assert dict(raters.iter_rows()) == {
        "堡垒指数": ["上级考评", "党员群众测评", "自评"],
        "先锋指数": ["党员群众测评", "自评"],
    }


def test_deductions_exist(tables):
    assert tables["deduction"].height > 10
    assert (tables["deduction"]["points"] > 0).all()


def test_deductions_draw_only_counted_catalogue_items(tables):
    # An item a metric scores already (deductions.toml `duplicates`) would count one
    # failure twice: the generator never draws it, and uses the catalogue's points.
    catalogue = {i.item: i for i in read_catalogue()}
    drawn = tables["deduction"].select("item", "points").unique()
    assert drawn["item"].is_in(list(catalogue)).all()
    assert all(catalogue[item].counted for item in drawn["item"])
    assert all(catalogue[item].points == points for item, points in drawn.iter_rows())
    assert any(not i.counted for i in catalogue.values())  # there was something to avoid
    # Sub-grids, members and villages each get theirs.
    units = set(tables["deduction"]["unit_id"].str.replace(r"^CJ\d\d", "V"))
    assert "V" in units and any("-P" in u for u in units)
    assert any(u.startswith("V-") and "-P" not in u for u in units)


def test_open_reports_are_recent(tables):
    # A report may stall for weeks or months, never for years: at the end of every
    # month, what is still 待受理 or 处理中 was reported at most STALL_DAYS plus its
    # usual handling ago (the 督办清单 holds recent items).
    report = tables["report"].sort("file_month")
    months = sorted(report["file_month"].unique())
    oldest = []
    for month in months:
        state = report.filter(pl.col("file_month") <= month).group_by("report_id").last()
        open_ = state.filter(pl.col("status").is_in(["待受理", "处理中"]))
        end = date.fromisoformat(f"{month}-01")
        ages = open_.select((pl.lit(end) - pl.col("reported_at").dt.date()).dt.total_days())
        oldest.append(ages.max().item() or 0)
    assert max(oldest) <= STALL_DAYS[1] + 60
    latest = report.group_by("report_id").last()
    assert latest.filter(pl.col("status") == "待受理").height > 0  # some still wait


def test_towns_replicate_with_distinct_ids(tmp_path):
    one = generate(tmp_path / "one", months=1, end=date(2026, 10, 1), towns=1)
    three = generate(tmp_path / "three", months=1, end=date(2026, 10, 1), towns=3)
    for p1, p3 in zip(one.files, three.files, strict=True):
        assert three.rows[p3] == 3 * one.rows[p1]
    _, activity = read_canonical_csv(tmp_path / "three" / "2026-10" / "activity.csv")
    assert activity["activity_id"].n_unique() == activity.height
    _, village = read_canonical_csv(tmp_path / "three" / "registry" / "village.csv")
    assert village["village_id"].n_unique() == 42
    assert village["town_id"].n_unique() == 3
