"""月度通报 / 半年通报: real PDF and XLSX bytes from the sample, read back with poppler
(pdftotext, pdffonts, pdfinfo, pdftoppm) and openpyxl.

The figures are compared with what the dashboard shows for the same period (the
metrics layer's scorecard and KPIs, formatted as the glossary formats them), the fonts
must be embedded and cover every character, pages are numbered "第 X 页 / 共 Y 页",
names are masked in a leader's briefing, a 村居书记 gets their village only, and the
command line answers 0 (written), 1 (no data) and 2 (usage).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from fontTools.ttLib import TTCollection

from auth.roles import LEADER, OFFICE, SECRETARY
from auth.store import UserStore
from briefing.cli import main
from briefing.content import NoData, build
from briefing.fonts import cjk_font_file
from briefing.period import PeriodError, parse_period
from briefing.workbook import render_xlsx
from harness.shared_builds import private_copy
from metrics.alerts import alerts
from metrics.filters import Filter
from metrics.highlights import highlights
from metrics.overview import kpis, scorecard
from store.database import connect
from tests.support.reporting import delete_unit
from ui.privacy import mask_name

LATEST = date(2026, 10, 1)  # the sample's last month (tests/conftest.py)
OWN, OTHER = "CJ03", "CJ05"
PASSWORD = "briefing-test-1"


@pytest.fixture(scope="module")
def users(tmp_path_factory, monkeypatch_module):
    store = UserStore.load(tmp_path_factory.mktemp("users") / "users.toml")
    store.set_user("b_leader", PASSWORD, LEADER, display_name="领导")
    store.set_user("b_office", PASSWORD, OFFICE, display_name="镇办")
    store.set_user("b_cj03", PASSWORD, SECRETARY, village_id=OWN, display_name="书记")
    monkeypatch_module.setenv("GRID_USERS", str(store.path))
    return store.path


@pytest.fixture(scope="module")
def sample_db(sample_db, tmp_path_factory):
    """This module's own copy of the sample. The command line opens its database
    read-only in this process, which DuckDB refuses while another module's in-process
    app holds the worker's shared copy read-write (whether one does depends on how the
    workers share the tests)."""
    return private_copy(sample_db, tmp_path_factory.mktemp("briefing-db") / "grid.duckdb")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def flat(text: str) -> str:
    """Text without whitespace: pdftotext spaces CJK from Latin and wraps cells."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pages_of(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


def written(tmp_path_factory, name: str, *argv: str, db: Path) -> Path:
    out = tmp_path_factory.mktemp("briefing") / name
    assert main([*argv, "--out", str(out), "--db", str(db)]) == 0
    return out


@pytest.fixture(scope="module")
def month_pdf(tmp_path_factory, sample_db, users) -> Path:
    """The town's briefing for the latest month, as a 镇领导 gets it (names masked)."""
    return written(
        tmp_path_factory, "m.pdf", "--period", "2026-10", "--user", "b_leader", db=sample_db
    )


# ------------------------------------------------------------------ fast: periods, usage


def test_periods_are_months_or_half_years():
    month, half = parse_period("2026-11"), parse_period("2026h2")
    assert (month.start, month.end, month.label, month.kind) == (
        date(2026, 11, 1), date(2026, 11, 1), "2026年11月", "月度"
    )  # fmt: skip
    assert (half.start, half.end, half.label, half.key) == (
        date(2026, 7, 1), date(2026, 12, 1), "2026年下半年", "2026H2"
    )  # fmt: skip
    assert parse_period("2027H1").compared == "上年下半年"
    for bad in ("2026-13", "2026H3", "下半年", ""):
        with pytest.raises(PeriodError, match="YYYYH1"):
            parse_period(bad)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--period", "2026-13", "--out", "x.pdf"], "期间应为月份"),
        (["--period", "2026-10", "--out", "x.docx"], ".pdf 或 .xlsx"),
        (["--period", "2026-10"], "--out"),
        (["--period", "2026-10", "--out", "x.pdf", "--user", "nobody"], "nobody"),
        (["--period", "2026-10", "--out", "x.pdf", "--user", "b_cj03", "--village", OTHER], OTHER),
        (["--period", "2026-10", "--out", "/no/such/dir/x.pdf"], "输出目录不存在"),
        (["--period", "2026-10", "--out", "x.pdf", "--village", "CJ99"], "CJ99"),
    ],
)
def test_usage_errors_exit_2_in_chinese_and_write_nothing(
    argv, message, sample_db, users, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--db", str(sample_db)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_period_without_data_exits_1_and_writes_nothing(sample_db, tmp_path, capsys):
    out = tmp_path / "x.pdf"
    assert main(["--period", "2019-01", "--out", str(out), "--db", str(sample_db)]) == 1
    assert "2019年1月没有数据" in capsys.readouterr().err and not out.exists()
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        with pytest.raises(NoData):
            build(con, parse_period("2030H1"))
    finally:
        con.close()


def test_every_character_of_the_briefing_is_in_the_embedded_font(sample_db):
    """No missing glyphs: every character the PDF typesets is in Noto Sans CJK SC."""
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        briefing = build(con, parse_period("2026-10"))
    finally:
        con.close()

    def strings(value) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, (list, tuple)):
            return [s for v in value for s in strings(v)]
        return []

    text = "".join(strings(asdict(briefing)))
    assert "沙积村" in text and "★" in text
    face = TTCollection(cjk_font_file(), lazy=True).fonts[2]  # Noto Sans CJK SC
    assert face["name"].getDebugName(1) == "Noto Sans CJK SC"
    cmap = face.getBestCmap()
    missing = sorted({c for c in text if not c.isspace() and ord(c) not in cmap})
    assert missing == []


# ------------------------------------------------------------------ slow: real files


@pytest.mark.slow
def test_the_month_pdf_shows_the_dashboards_figures(month_pdf, sample_db):
    text = flat(pdf_text(month_pdf))
    assert "漕泾镇网格化党建月度通报" in text and "全镇·2026年10月" in text
    assert "本月要点" in text and "主要指标" in text and "村居排名" in text
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        scope = Filter(LATEST, LATEST, "town")
        cards = scorecard(con, scope.at_level("village"))
        figures = kpis(con, scope)
    finally:
        con.close()
    # The KPI cards, as 总览 writes them.
    for row in figures.iter_rows(named=True):
        if row["kpi"] == "fortress_index":
            assert f"{row['value']:.1f}" in text
        elif row["kpi"] != "activity_coverage":
            assert f"{row['value'] * 100:.1f}%" in text, row["kpi"]
    # Every village with its rank, total, 堡垒指数, stars and rates, as the 成绩单 shows them.
    assert cards.height == 14
    for r in cards.iter_rows(named=True):
        rates = "".join(
            f"{r[k] * 100:.1f}" if r[k] is not None else "—"
            for k in ("compliant_share", "study_coverage", "on_time_resolve_rate")
        )
        expected = (
            f"{r['rank']}{r['unit_name']}{r['total']:.2f}{r['fortress_index']:.1f}"
            f"{r['stars']}{rates}{r['overdue_at_end']}"
        )
        assert flat(expected) in text, r["unit_name"]


@pytest.mark.slow
def test_pages_are_numbered_fonts_embedded_and_rendered(month_pdf, tmp_path):
    pages = pages_of(month_pdf)
    assert pages >= 3
    text = flat(pdf_text(month_pdf))
    assert [f"第{n}页/共{pages}页" in text for n in range(1, pages + 1)] == [True] * pages
    assert "数据版本" in text
    fonts = subprocess.run(
        ["pdffonts", str(month_pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all("NotoSansCJK" in line for line in fonts)
    # columns: name type encoding emb sub uni …: every font embedded (and subset)
    assert all(line.split()[-5:-2] == ["yes", "yes", "yes"] for line in fonts), fonts
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(month_pdf), str(tmp_path / "page")], check=True
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages and all(p.stat().st_size > 2000 for p in images)


@pytest.mark.slow
def test_names_are_masked_for_a_leader_and_shown_to_the_office(
    tmp_path_factory, month_pdf, sample_db, users
):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        red = alerts(con, Filter(LATEST, LATEST, "town")).filter(pl.col("level") == "红色")
    finally:
        con.close()
    owners = [o for o in red["owner"].unique().to_list() if o and len(o) >= 2]
    assert owners
    office = flat(pdf_text(written(tmp_path_factory, "o.pdf", "--period", "2026-10",
                                   "--user", "b_office", db=sample_db)))  # fmt: skip
    leader = flat(pdf_text(month_pdf))
    for name in owners:
        assert name in office
        assert name not in leader and mask_name(name) in leader


@pytest.mark.slow
def test_a_village_secretary_gets_their_village_only(tmp_path_factory, sample_db, users):
    pdf = written(
        tmp_path_factory, "v.pdf", "--period", "2026-10", "--user", "b_cj03", db=sample_db
    )
    text = flat(pdf_text(pdf))
    assert "营房村·2026年10月" in text and "子网格排名" in text
    assert "在全镇村居中排第" in text
    # No other village is named in the ranking or the alerts.
    for other in ("沙积村", "东海村", "阮巷村", "水库村"):
        assert other not in text


@pytest.mark.slow
def test_the_half_year_pdf(tmp_path_factory, sample_db, users):
    pdf = written(tmp_path_factory, "h.pdf", "--period", "2026H2", db=sample_db)
    text = flat(pdf_text(pdf))
    assert "漕泾镇网格化党建半年通报" in text and "2026年下半年" in text
    assert "数据截至2026年10月" in text  # the half-year is not over in the sample
    assert "本期要点" in text
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        points = highlights(con, Filter(date(2026, 7, 1), date(2026, 12, 1)), masked=True)
    finally:
        con.close()
    assert points and all(flat(p) in text for p in points)  # 总览's 本月要点, word for word


@pytest.mark.slow
def test_the_xlsx_holds_the_same_rows_coloured(sample_db):
    con = connect(sample_db)  # the in-process app holds it read-write: same configuration
    try:
        briefing = build(con, parse_period("2026-10"))
    finally:
        con.close()
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(briefing)))
    assert book.sheetnames[:3] == ["通报", "村居排名", "红色预警及责任人"]
    front = [c.value for c in book["通报"]["A"] if c.value]
    assert front[0].startswith("漕泾镇网格化党建月度通报") and "本月要点" in front
    assert set(briefing.key_points) <= set(front)
    ranking = next(s for s in briefing.sections if s.title == "村居排名")
    sheet = book["村居排名"]
    header = [c.value for c in sheet[3]]
    assert tuple(header[: len(ranking.table.columns)]) == ranking.table.columns
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=4)]
    assert rows == [r.cells for r in ranking.table.rows]
    colours = {"red": "FFF4CCD2", "yellow": "FFFBE5C0"}
    for index, row in enumerate(ranking.table.rows, start=4):
        fill = sheet.cell(index, 1).fill.fgColor.rgb
        assert fill == colours.get(row.mark, "00000000"), (row.cells[1], row.mark, fill)
    assert {r.mark for r in ranking.table.rows} >= {"red", "yellow"}


@pytest.mark.slow
def test_the_command_line_writes_a_pdf(sample_db, tmp_path):
    out = tmp_path / "通报.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "briefing", "--period", "2026-10", "--village", OWN,
         "--out", str(out), "--db", str(sample_db)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF-") and "已生成" in done.stdout
    assert pages_of(out) >= 2


def test_the_reporting_section_names_what_a_village_has_not_reported(sample_db, tmp_path):
    path = tmp_path / "grid.duckdb"
    shutil.copy(sample_db, path)
    delete_unit(path, OTHER, LATEST, ("activity", "attendance"))
    con = connect(path, read_only=True)
    try:
        briefing = build(con, parse_period("2026-10"))
    finally:
        con.close()
    section = next(s for s in briefing.sections if s.title == "报送情况")
    assert [r.cells for r in section.table.rows] == [("2026年10月", "水库村", "活动、出勤")]
    assert {r.mark for r in section.table.rows} == {"red"}
