"""Metric calls per page, warm, median of 5, at town scale and city scale.

Each page is the set of metric calls its Streamlit page makes for one view, run
inside one ``metrics.batch()`` as the page would (:data:`PAGES`, kept in step with
``app_pages/``); the range is the last six sample months (2026-05 … 2026-10), the
drill-down village ``CJ03``. Every
page is run once to warm up, then ``--repeat`` times (default 5); the median is
printed, in milliseconds, with the city/town ratio.

* Town: one town × 24 months, built with :func:`etl.init_db.init_database` into
  ``bench/out/metrics-town.duckdb`` (rebuilt every run: about 10 s).
* City: ``python -m etl generate --towns 200 --months 24`` (30M sign-ins), cached as
  ``bench/out/metrics-city.duckdb`` (git-ignored) and rebuilt only when missing or its
  rollups are of an older layout. It is bulk-built — DuckDB ``read_csv`` of the
  generated files straight into the base tables (docs/data.md), the latest row of
  each report kept, then :func:`etl.rollups.refresh` — because the validating loader
  is not what is measured here; building takes a few minutes.

Targets: ≤ 50 ms per page at town scale, ≤ 300 ms at city scale.
"""

from __future__ import annotations

import statistics
import time
from datetime import date
from pathlib import Path

from bench.common import timed
from etl.generate import generate
from etl.init_db import init_database
from etl.rollups import create_rollups, refresh
from etl.schema import create_schema
from metrics import (
    Filter,
    assessment,
    batch,
    coverage,
    drilldown_rows,
    explain,
    indices,
    overview,
    registry,
    response,
    study,
)
from metrics.alerts import alerts
from metrics.highlights import highlights
from metrics.scorecard_reading import rank_reasons
from store.contracts import KINDS, Kind
from store.database import connect, transaction
from store.months import add_months
from store.paths import REPO_ROOT
from store.rollup_layout import rollups_ready

OUT = REPO_ROOT / "bench" / "out"
END = date(2026, 10, 1)
TOWNS = 200
RANGE = Filter.parse("2026-05", "2026-10", "town")
VILLAGE = "CJ03"


def _pages() -> dict:
    """Each page's metric calls for one view, as ``app_pages/`` makes them (the default
    view: the whole town, the range above; the trend over at least 12 months)."""
    f = RANGE
    fv, fs = f.at_level("village"), f.at_level("subgrid")
    month = f.for_months(f.end)
    trend = Filter(add_months(f.end, -11), f.end, "town")
    village = Filter(f.start, f.end, "village", VILLAGE)
    one = Filter(f.start, f.end, "subgrid", VILLAGE)
    village_trend = Filter(trend.start, f.end, "village", VILLAGE)
    return {
        "总览": lambda c: (
            overview.town_summary(c),
            overview.kpis(c, f),
            overview.kpi_trend(c, trend),
            alerts(c, f),
            overview.scorecard(c, fv),
            rank_reasons(c, fv),
            highlights(c, f, masked=True),
        ),
        "网格覆盖": lambda c: (
            coverage.coverage_matrix(c, month.at_level("subgrid")),
            coverage.coverage_summary(c, month.at_level("subgrid")),
            coverage.coverage_summary(c, fv),
            registry.subgrids(c),
            registry.data_months(c),
        ),
        "学习教育": lambda c: (
            study.study_summary(c, f),
            study.study_by_month(c, trend),
            study.study_summary(c, fv),
            study.study_summary(c, fs),
            study.not_reached(c, f),
            registry.subgrids(c),
        ),
        "民情处置": lambda c: (
            response.response_summary(c, f),
            response.funnel(c, f),
            response.duration_distribution(c, f),
            response.response_by_month(c, trend),
            response.backlog(c, f),
            response.overdue(c, f),
        ),
        "两个指数地图": lambda c: (
            overview.scorecard(c, fv),
            registry.boundaries(c, "village"),
            registry.service_points(c),
            registry.villages(c),
            indices.vanguard_members(c, village),
            registry.subgrids(c, VILLAGE),
        ),
        "村居详情": lambda c: (
            overview.kpis(c, village),
            overview.scorecard(c, village),
            assessment.town_ranks(c, village),
            overview.scorecard(c, one),
            overview.kpi_trend(c, village_trend),
            registry.subgrids(c, VILLAGE),
            drilldown_rows.activity_rows(c, village, VILLAGE),
            drilldown_rows.attendance_rows(c, village, VILLAGE),
            drilldown_rows.report_rows(c, village, VILLAGE),
            indices.vanguard_members(c, village),
        ),
        "考核排名": lambda c: (
            assessment.assessment(c, fv),
            assessment.rank_change(c, fv),
            assessment.town_ranks(c, fv),
            assessment.assessment_components(c, fv),
            explain.explain("assessment"),
        ),
    }


PAGES = _pages()


def build_town() -> Path:
    path = OUT / "metrics-town.duckdb"
    init_database(path, force=True, end=END)
    return path


def _select(kind: Kind, source: str) -> str:
    """SELECT turning the text columns of a canonical CSV into the kind's types."""
    exprs = []
    for c in kind.columns:
        col = f'"{c.header}"' if source == "header" else f'"{c.name}"'
        text = f"nullif(trim({col}), '')"
        if c.dtype == "bool":
            exprs.append(f"({text} = '是') AS {c.name}")
        elif c.dtype == "text":
            exprs.append(f"{text} AS {c.name}")
        else:
            exprs.append(f"CAST({text} AS {c.sql_type}) AS {c.name}")
    return ", ".join(exprs)


def build_city(src: Path, path: Path) -> None:
    """Bulk-build the city database from generated files (see the module doc)."""
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    con = connect(building)
    try:
        con.execute("SET enable_progress_bar = false")
        create_schema(con)
        for name in ("village", "subgrid", "service_point", "person"):
            csv = str(src / "registry" / f"{name}.csv")
            con.execute(
                f"INSERT INTO {name} SELECT {_select(KINDS[name], 'name')} "
                "FROM read_csv(?, all_varchar = true, header = true)",
                [csv],
            )
        months = sorted(p for p in src.iterdir() if p.name[:2] == "20")
        for name in ("activity", "attendance", "evaluation", "deduction"):
            files = [str(m / f"{name}.csv") for m in months if (m / f"{name}.csv").exists()]
            con.execute(
                f"INSERT INTO {name} SELECT {_select(KINDS[name], 'header')} "
                "FROM read_csv(?, all_varchar = true, header = true)",
                [files],
            )
        files = [str(m / "report.csv") for m in months]
        # A report is filed again in the month of its next step: the latest file wins.
        # Stored in the order monthly loads leave them (by month reported), not in the
        # window's scrambled order, so that scans by month prune as they would.
        con.execute(
            f"INSERT INTO report SELECT * FROM (SELECT {_select(KINDS['report'], 'header')} "
            "FROM read_csv(?, all_varchar = true, header = true, filename = true) "
            'QUALIFY row_number() OVER (PARTITION BY "事项编号" ORDER BY filename DESC) = 1) '
            "ORDER BY reported_at",
            [files],
        )
        with transaction(con):
            refresh(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    building.replace(path)


def city_database() -> Path:
    path = OUT / "metrics-city.duckdb"
    if path.exists():
        con = connect(path)
        try:
            create_rollups(con)  # an older layout is dropped and rebuilt from the tables
            if not rollups_ready(con):
                with transaction(con):
                    refresh(con)
                con.execute("CHECKPOINT")
        finally:
            con.close()
        return path
    src = OUT / "city-src"
    if not (src / "2026-10" / "attendance.csv").exists():
        generate(src, months=24, end=END, towns=TOWNS)
    build_city(src, path)
    return path


def measure(path: Path, repeat: int) -> dict[str, float]:
    """Median milliseconds per page on the database at ``path``."""
    con = connect(path)
    try:
        con.execute("SET enable_progress_bar = false")
        out = {}
        for name, page in PAGES.items():

            def view(page=page):
                with batch():
                    page(con)

            view()  # warm: buffers, file cache, imports
            out[name] = round(statistics.median(timed(view) * 1000 for _ in range(repeat)), 1)
        return out
    finally:
        con.close()


def run(args) -> dict:
    repeat = args.repeat or 5
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    town = build_town()
    town_build = time.perf_counter() - started
    started = time.perf_counter()
    city = city_database()
    city_build = time.perf_counter() - started
    town_ms = measure(town, repeat)
    city_ms = measure(city, repeat)
    sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in (town, city)}
    return {
        "range": f"{RANGE.start:%Y-%m}..{RANGE.end:%Y-%m}",
        "repeat": repeat,
        "town_ms": town_ms,
        "city_ms": city_ms,
        "city_over_town": {k: round(city_ms[k] / town_ms[k], 1) for k in town_ms},
        "town_max_ms": max(town_ms.values()),
        "city_max_ms": max(city_ms.values()),
        "targets_ms": {"town": 50, "city": 300},
        "targets": [
            {"target": f"{scale} {page} ≤ {limit} ms", "value": ms, "met": ms <= limit}
            for scale, figures, limit in (("town", town_ms, 50), ("city", city_ms, 300))
            for page, ms in figures.items()
        ],
        "db_size_mb": sizes,
        "build_s": {"town": round(town_build, 1), "city (0 when cached)": round(city_build, 1)},
        "measured_on": date.today().isoformat(),
    }
