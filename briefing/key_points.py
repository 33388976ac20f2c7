"""本期要点: the sentences that open the briefing.

The 本月要点 of the metrics layer (:func:`metrics.highlights.highlights`: where things
stand, what moved most, the red alerts and their owners, who has not reported), as
总览 shows them, followed by one sentence on the 督办 items of the period.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from metrics.config import Config
from metrics.filters import Filter
from metrics.highlights import highlights
from store.person_names import mask_name


def supervision_sentence(figures) -> str | None:
    """'本期发现的问题已立项督办 N 件：已办结 a 件，在办 b 件（其中已逾期 c 件）。'"""
    s = figures.supervision
    if s.is_empty() or not s["opened"].sum():
        return None
    overdue = s["overdue_now"].sum()
    late = f"（其中已逾期 {overdue} 件）" if overdue else ""
    return (
        f"本期发现的问题已立项督办 {s['opened'].sum()} 件：已办结 {s['closed'].sum()} 件，"
        f"在办 {s['open_now'].sum()} 件{late}。"
    )


def sentences(
    con: duckdb.DuckDBPyConnection,
    figures,
    names: Callable[[str | None], str],
    config: Config | None = None,
) -> list[str]:
    """The key points of the briefing's period and scope, owners' names via ``names``."""
    period = figures.period
    f = Filter(period.start, period.end, "town", figures.village_id)
    found = highlights(con, f, config=config, masked=names is mask_name)
    extra = supervision_sentence(figures)
    return [*found, extra] if extra else found
