"""The three procedures of the 程序清单 side by side, stage by stage (the CLI's
``procedures``): 党内重要事项决策 (:mod:`metrics.decision_procedure`), 党员学习教育
(:mod:`metrics.study_procedure`) and 乡村治理 (:mod:`metrics.governance_procedure`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.decision_procedure import decision_stages
from metrics.filters import Filter
from metrics.governance_procedure import governance_steps
from metrics.procedure_config import ProcedureConfig
from metrics.scope import scoped
from metrics.study_procedure import study_stages


@scoped
def procedure_stages(
    con: duckdb.DuckDBPyConnection, f: Filter, config: ProcedureConfig | None = None
) -> pl.DataFrame:
    """procedure, step, stage, items, median_days, overdue — the three procedures in
    the order of the 程序清单 (see each module for its rules)."""
    return pl.concat(
        [decision_stages(con, f, config), study_stages(con, f), governance_steps(con, f, config)]
    )
