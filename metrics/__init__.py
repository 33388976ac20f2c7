"""The metrics layer: pure query functions over DuckDB returning Polars frames.

Nothing here imports Streamlit or writes the database; pages, exports and the
``python -m metrics`` CLI all take their numbers from these functions. Every function
has the shape ``fn(con, f, *, config=None, rollups=True) -> polars.DataFrame`` with
``f`` a :class:`~metrics.filters.Filter` (month range, level, optional village):

* :mod:`metrics.coverage` 制度落实, :mod:`metrics.study` 学习教育,
  :mod:`metrics.response` 民情处置, :mod:`metrics.indices` 两个指数,
  :mod:`metrics.member_vanguard` 先锋指数 per member and its grades,
  :mod:`metrics.assessment` 考核排名, :mod:`metrics.overview` 总览 (KPIs, trends,
  alerts, scorecards), :mod:`metrics.drilldown_rows` (the rows behind a number),
  :mod:`metrics.explain` (how each number is computed, in Chinese).

They compute from the engine: :mod:`metrics.query_context` (the query context of one
computation), :mod:`metrics.activity_sums`, :mod:`metrics.reports`,
:mod:`metrics.deductions_and_surveys`, :mod:`metrics.unit_totals`,
:mod:`metrics.fortress_index`, :mod:`metrics.vanguard_index` (with
:mod:`metrics.vanguard_at_scale` and :mod:`metrics.vanguard_linear`),
:mod:`metrics.assessment_scores` and
:mod:`metrics.report_statistics`; :mod:`metrics.batch_cache` shares work between the
calls of one page view. Every definition is in docs/metrics.md.

Wrap the calls of one page view in ``with metrics.batch():`` so they share queries.
"""

from metrics.batch_cache import batch
from metrics.config import Config, default_config, load_config
from metrics.filters import LEVELS, Filter, FilterError
from store.toml_config import ConfigError

__all__ = [
    "LEVELS",
    "Config",
    "ConfigError",
    "Filter",
    "FilterError",
    "batch",
    "default_config",
    "load_config",
]
