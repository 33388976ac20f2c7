"""The test suite's wall time: the command `.ci/run` runs after installing, timed whole.

``python -m pytest`` (the repository's own settings: two pytest-xdist workers, every
marker) in the working tree, timed from start to exit, with pytest's ten slowest test
phases and the load average before and after. Target: the full suite ≤ 8 minutes on
this machine (issue 15), without dropping a test. The suite takes many minutes: run it
on its own (``python -m bench suite``) on a machine that is otherwise quiet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date

from store.paths import REPO_ROOT

TARGET_S = 8 * 60
SLOWEST = 10
# pytest's last line: "816 passed, 2 skipped in 1068.21s (0:17:48)"
OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
DURATION = re.compile(r"^\s*([\d.]+)s (call|setup|teardown)\s+(\S+)", re.MULTILINE)


def outcome_counts(text: str) -> dict[str, int]:
    """The counts of pytest's closing line (``{"passed": 816, "failed": 1}``)."""
    lines = [line for line in text.splitlines() if " in " in line and "passed" in line]
    last = lines[-1] if lines else ""
    return {kind.rstrip("s") if kind.startswith("error") else kind: int(n)
            for n, kind in OUTCOME.findall(last)}  # fmt: skip


def slowest(text: str, count: int = SLOWEST) -> list[dict]:
    """pytest's ``--durations`` table: the slowest phases, slowest first."""
    rows = [
        {"seconds": float(s), "phase": phase, "test": test}
        for s, phase, test in DURATION.findall(text)
    ]
    return sorted(rows, key=lambda r: -r["seconds"])[:count]


def run(args) -> dict:
    """``python -m bench suite``: the figures as a JSON-able dict."""
    del args
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", f"--durations={SLOWEST}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = round(time.perf_counter() - started, 1)
    text = done.stdout + done.stderr
    counts = outcome_counts(text)
    whole = done.returncode == 0 and counts.get("passed", 0) > 0
    return {
        "command": "python -m pytest (pyproject: -n 2, every marker)",
        "wall_s": wall,
        "exit_code": done.returncode,
        "outcomes": counts,
        "slowest": slowest(text),
        "targets": [
            {
                "target": f"full suite ≤ {TARGET_S // 60} min, every test passing",
                "value": wall,
                "met": whole and wall <= TARGET_S,
            }
        ],
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "measured_on": date.today().isoformat(),
    }
