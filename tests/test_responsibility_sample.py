"""The shipped sample exercises the four lists: every duty signal both met and missed,
every procedure stage, every volunteer kind, some vacant posts, idle places and
matters stuck before 公示 — and the CLI prints them with the documented fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import polars as pl
import pytest

from metrics import Filter, batch
from metrics.decision_procedure import decision_stages, open_matters
from metrics.duties import duty_status
from metrics.governance_procedure import governance_steps, undiscussed_reports
from metrics.places import place_usage
from metrics.posts import unassigned, vacancies
from metrics.volunteers import programme_summary, volunteer_summary
from store.database import connect
from store.duty_catalogue import read_catalogue
from store.paths import REPO_ROOT

WHOLE = Filter(date(2024, 11, 1), date(2026, 10, 1))
LAST_HALF = Filter(date(2026, 5, 1), date(2026, 10, 1))


@pytest.fixture(scope="module")
def con(sample_db):
    connection = connect(sample_db)  # the in-process app holds it read-write: same configuration
    yield connection
    connection.close()


def test_every_duty_is_both_met_and_missed_somewhere(con):
    rows = duty_status(con, WHOLE)
    seen = rows.group_by("duty_id").agg(pl.col("status").unique())
    statuses = {r["duty_id"]: set(r["status"]) for r in seen.to_dicts()}
    for duty in read_catalogue().duties:
        assert {"已完成", "未完成"} <= statuses[duty.id], duty.id
        if not duty.measured:
            assert "待评价" in statuses[duty.id], duty.id  # a village that has not rated yet


def test_some_posts_are_vacant_and_some_people_wait_for_a_subgrid(con):
    with batch():
        vacant = vacancies(con, LAST_HALF)
        waiting = unassigned(con, LAST_HALF)
    roles = set(vacant["role"])
    assert {"子网格长", "网格指导员", "网格员"} <= roles
    assert 3 <= vacant["vacant"].sum() <= 12  # some, not many
    assert waiting.height >= 2 and set(waiting["role"]) == {"网格员"}


def test_every_procedure_stage_is_reached_and_some_matters_stall(con):
    with batch():
        decisions = decision_stages(con, WHOLE)
        steps = governance_steps(con, WHOLE)
        stuck = open_matters(con, WHOLE)
        waiting = undiscussed_reports(con, LAST_HALF)
    assert (decisions["items"] > 0).all() and decisions["overdue"].sum() > 0
    assert (steps["items"] > 0).all()
    assert 3 <= stuck.height <= 25 and stuck["overdue"].any()
    assert set(stuck["stage"]) >= {"党员议事会商议", "决议或表决"}  # before 公示
    assert waiting.height > 0


def test_every_volunteer_kind_and_programme_is_active(con):
    town = volunteer_summary(con, LAST_HALF).filter(pl.col("kind") != "其他")
    assert town.height == 4
    assert (town["volunteers"] > 0).all() and (town["active"] > 0).all()
    assert (town["active"] < town["volunteers"]).any()
    programmes = programme_summary(con, LAST_HALF)
    assert (programmes["units"] > 0).all() and (programmes["participations"] > 0).all()


def test_some_places_are_idle_for_a_while(con):
    usage = place_usage(con, WHOLE)
    idle = usage.filter(pl.col("idle_months") > 0)
    assert 1 <= idle.height <= 5
    assert set(idle["kind"]) == {"服务点"}
    assert (usage["activities"] > 0).all()


# ------------------------------------------------------------------ CLI


def metrics_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )


FIELDS = {
    "team": ["village_id", "role", "people", "vacant", "duties_due", "duties_done", "fulfilment"],
    "duties": ["person_id", "role", "duty", "due", "done"],
    "places": [
        "place_id",
        "name",
        "kind",
        "village_id",
        "activities",
        "participants",
        "idle_months",
    ],
    "volunteers": ["unit_id", "kind", "volunteers", "active", "participations"],
    "procedures": ["procedure", "stage", "items", "median_days", "overdue"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(FIELDS))
def test_the_cli_prints_the_documented_fields(command_db, command):
    common = ("--db", str(command_db), "--from", "2026-07", "--to", "2026-09", "--village", "CJ03")
    done = metrics_cli(command, *common)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows and list(rows[0]) == FIELDS[command]
    if "village_id" in FIELDS[command]:
        assert {r["village_id"] for r in rows} == {"CJ03"}
    csv = metrics_cli(command, *common, "--format", "csv")
    assert csv.stdout.splitlines()[0] == ",".join(FIELDS[command])


@pytest.mark.slow
def test_duties_needs_a_village_and_volunteers_take_a_level(command_db):
    common = ("--db", str(command_db), "--from", "2026-07", "--to", "2026-09")
    refused = metrics_cli("duties", *common)
    assert refused.returncode == 2 and "--village" in refused.stderr and refused.stdout == ""
    per_village = json.loads(metrics_cli("volunteers", *common, "--level", "village").stdout)
    assert len({r["unit_id"] for r in per_village}) == 14
