"""What ``python -m bench`` prints at the end: every target, met or not, with its figure."""

from __future__ import annotations

from bench.__main__ import BENCHMARKS, summary
from bench.suite_bench import outcome_counts, slowest

PYTEST_TAIL = """
============================= slowest 10 durations =============================
274.41s call     tests/test_concurrency.py::test_twenty_viewers
25.51s setup    tests/test_concurrency.py::test_twenty_viewers
118.95s call     tests/test_every_page_browser.py::test_every_page_on_a_wall
=========================== short test summary info ============================
FAILED tests/test_crash_kills.py::test_sigkill - AssertionError
================= 815 passed, 1 failed, 2 skipped in 1165.20s (0:19:25) =================
"""


def test_the_summary_lists_every_target_and_counts_the_met_ones():
    results = {
        "load": {"targets": [{"target": "ratio ≥ 0.5", "value": 0.33, "met": False}]},
        "browser": {
            "targets": [
                {"target": "desk 督办 ≤ 2× minimal", "value": 1.21, "met": True},
                {"target": "phone 地图 ≤ 5× minimal", "value": None, "met": False},
            ]
        },
        "init": {"init_median_s": 7.0},  # a benchmark without targets adds no line
    }
    lines = summary(results).splitlines()
    assert lines[-1] == "1 of 3 targets met"
    assert len(lines) == 5
    assert lines[1].split()[:3] == ["NOT", "met", "load"] and "ratio ≥ 0.5" in lines[1]
    assert lines[2].split()[:3] == ["met", "browser", "1.21"]
    assert "—" in lines[3]  # a figure that could not be measured


def test_the_suite_benchmark_reads_pytests_outcome_and_slowest_phases():
    assert "suite" in BENCHMARKS
    assert outcome_counts(PYTEST_TAIL) == {"passed": 815, "failed": 1, "skipped": 2}
    rows = slowest(PYTEST_TAIL, 2)
    assert [r["seconds"] for r in rows] == [274.41, 118.95]
    assert rows[1]["test"].endswith("test_every_page_on_a_wall") and rows[0]["phase"] == "call"
