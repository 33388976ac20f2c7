"""No Python runs inside polars' worker threads in the product (docs/decisions/0019).

Every session's script is a thread of one server process. A polars callback
(``map_elements`` and kin) must take the GIL on a polars worker thread, while some
polars calls (``DataFrame.to_pandas``, which ``st.dataframe`` makes of a polars frame)
hold the GIL and wait for those workers: one session's table and another's callback
froze the whole server. The scans keep both halves out of the product; the threaded
run shows the product's scorecard reading beside such a call does not freeze.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("app_pages", "auth", "briefing", "etl", "metrics", "notify", "store", "supervise", "ui")
# polars methods that run a Python function on polars' worker threads.
CALLBACKS = {"map_elements", "map_batches", "map_rows", "map_groups"}
# The one module that hands tables to Streamlit (ui.tables.data_grid, as Arrow).
GRID_MODULE = Path("ui/tables.py")


def product_files() -> list[Path]:
    files = [ROOT / "dashboard.py"]
    for package in PRODUCT:
        files.extend(sorted((ROOT / package).rglob("*.py")))
    return files


def offences(path: Path, relative: Path) -> list[str]:
    """``file:line what`` for each polars callback, and each ``st.dataframe`` call
    outside :data:`GRID_MODULE`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        if name in CALLBACKS:
            found.append(f"{relative}:{node.lineno} {name}")
        is_st = isinstance(node.func.value, ast.Name) and node.func.value.id == "st"
        if is_st and name in {"dataframe", "data_editor", "table"} and relative != GRID_MODULE:
            found.append(f"{relative}:{node.lineno} st.{name} (use ui.tables.data_grid)")
    return sorted(found, key=lambda line: int(line.split(":")[1].split()[0]))


def test_product_code_hands_polars_no_python_and_streamlit_no_polars_frame():
    found = [line for path in product_files() for line in offences(path, path.relative_to(ROOT))]
    assert found == []


def test_the_scan_finds_a_callback_and_a_table_drawn_past_the_grid(tmp_path):
    page = tmp_path / "page.py"
    page.write_text(
        "import polars as pl\nimport streamlit as st\n"
        "f = pl.DataFrame({'a': [1]})\n"
        "f = f.with_columns(pl.col('a').map_elements(str, return_dtype=pl.String))\n"
        "st.dataframe(f)\n",
        encoding="utf-8",
    )
    assert offences(page, Path("app_pages/page.py")) == [
        "app_pages/page.py:4 map_elements",
        "app_pages/page.py:5 st.dataframe (use ui.tables.data_grid)",
    ]
    assert offences(page, GRID_MODULE) == ["ui/tables.py:4 map_elements"]


# Four threads light the town's scorecard (it once called a Python function per cell
# inside polars) while four convert a many-chunk text frame the way Streamlit converts a
# polars frame. Before the fix this froze within seconds; a frozen run is killed by the
# timeout, which is far beyond a busy machine's time for the fixed amount of work.
THREADED_RUN = textwrap.dedent(
    """
    import sys, threading
    import duckdb, polars as pl
    from metrics import overview
    from metrics.filters import Filter
    from metrics.scorecard_reading import lights

    con = duckdb.connect(sys.argv[1], read_only=True)
    cards = overview.scorecard(con, Filter.parse("2026-06", "2026-11", "village"))
    con.close()
    part = pl.DataFrame({f"t{i}": [f"村{j}" for j in range(2000)] for i in range(12)})
    chunked = pl.concat([part] * 8, rechunk=False)
    lit = []

    def light_up():
        for _ in range(150):
            lit.append(lights(cards, "village").height)

    def convert():
        for _ in range(40):
            chunked.to_pandas()

    threads = [threading.Thread(target=light_up) for _ in range(4)]
    threads += [threading.Thread(target=convert) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(len(lit), set(lit))
    """
)


def test_sessions_lighting_scorecards_beside_table_conversions_never_freeze(command_db):
    run = subprocess.run(
        [sys.executable, "-c", THREADED_RUN, str(command_db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["600", "{14}"]
