"""``python -m metrics``: the documented field names in JSON and CSV, exit codes, messages."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from metrics.__main__ import COMMANDS, main
from store.paths import REPO_ROOT
from tests.support.small_grids import GridBuilder

FIELDS = {
    "coverage": ["unit_id", "month", "due", "met", "coverage", "reported"],
    "study": ["unit_id", "month", "members", "reached", "reached_home", "coverage", "reported"],
    "response": [
        "unit_id",
        "category",
        "reports",
        "resolved",
        "accept_median_h",
        "accept_p90_h",
        "resolve_median_h",
        "resolve_p90_h",
        "on_time_accept_rate",
        "on_time_resolve_rate",
        "open_at_end",
    ],
    "indices": ["unit_id", "fortress_index", "vanguard_index", "stars", "surveyed", "reported"],
    "alerts": [
        "village_id",
        "subgrid_id",
        "kpi",
        "level",
        "value",
        "threshold",
        "owner",
        "message",
    ],
    "assessment": [
        "unit_id",
        "daily_ops",
        "org_life",
        "public_opinion",
        "governance",
        "deductions",
        "total",
        "rank",
        "reported",
    ],
}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A closed database file (the CLI opens it read-only, in its own process too)."""
    path = tmp_path_factory.mktemp("cli") / "grid.duckdb"
    g = GridBuilder(path)
    g.village("V1", "东村")
    g.subgrid("S1", "V1")
    g.person("P1", "S1", "V1")
    a = g.activity("2026-03-10", "V1", "S1", "学习教育")
    g.attend(a, "P1", "出席")
    g.report("R1", "S1", "2026-03-11 09:00", accepted="2026-03-11 10:00")
    g.finish().close()
    return path


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", list(FIELDS))
def test_json_and_csv_field_names(capsys, db, command):
    assert list(COMMANDS[command][1]) == FIELDS[command]
    args = [command, "--db", str(db), "--from", "2026-03", "--to", "2026-03", "--level", "subgrid"]
    code, out, _ = run(capsys, *args)
    assert code == 0
    records = json.loads(out)
    assert records and all(list(r) == FIELDS[command] for r in records)
    code, out, _ = run(capsys, *args, "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == FIELDS[command] and len(rows) == len(records) + 1


def test_values_and_unescaped_chinese(capsys, db):
    code, out, _ = run(capsys, "response", "--db", str(db), "--from", "2026-03", "--to", "2026-03")
    assert code == 0
    assert '"全部"' in out  # UTF-8, not \\u escapes
    total = next(r for r in json.loads(out) if r["category"] == "全部")
    assert (total["unit_id"], total["reports"], total["accept_median_h"]) == ("T", 1, 1.0)
    code, out, _ = run(
        capsys,
        "study",
        "--db",
        str(db),
        "--from",
        "2026-03",
        "--to",
        "2026-03",
        "--village",
        "V1",
        "--level",
        "village",
    )
    assert json.loads(out) == [
        {
            "unit_id": "V1",
            "month": "2026-03",
            "members": 1,
            "reached": 1,
            "reached_home": 0,
            "coverage": 1.0,
            "reported": True,
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13", "--to", "2026-03"], "月份格式"),
        (["--from", "2026-04", "--to", "2026-03"], "晚于"),
        (["--from", "2026-03", "--to", "2026-03", "--village", "V9"], "未知的村居编号"),
    ],
)
def test_usage_errors_exit_2(capsys, db, args, message):
    code, out, err = run(capsys, "coverage", "--db", str(db), *args)
    assert code == 2 and out == ""
    assert message in err


def test_missing_database_exit_2_in_chinese(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "coverage",
        "--db",
        str(tmp_path / "none.duckdb"),
        "--from",
        "2026-03",
        "--to",
        "2026-03",
    )
    assert code == 2
    assert "找不到数据库" in err


def test_module_entry_point(db):
    bad = subprocess.run(
        [sys.executable, "-m", "metrics", "bogus", "--from", "2026-03", "--to", "2026-03"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "参数错误" in bad.stderr
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "indices",
            "--db",
            str(db),
            "--from",
            "2026-03",
            "--to",
            "2026-03",
            "--format",
            "csv",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == ",".join(FIELDS["indices"])
