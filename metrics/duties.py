"""责任落实 per person: each duty of the 责任清单, due and done, for a range of months
(docs/metrics.md, 责任落实). The rules are :mod:`metrics.duty_signals`'; the team's
totals per level and village are :mod:`metrics.team`'s.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics.batch_cache import batch_store
from metrics.duty_facts import fetch_facts
from metrics.duty_signals import duty_rows
from metrics.filters import Filter
from metrics.scope import scoped, unscoped
from store.duty_catalogue import FREQUENCIES, DutyCatalogue, read_catalogue


@unscoped
def duty_catalogue(catalogue: DutyCatalogue | None = None) -> pl.DataFrame:
    """The 责任清单 as a table: duty_id, role, duty_text, frequency_label, signal_text,
    measured (false: 需人工评价)."""
    catalogue = catalogue or read_catalogue()
    return pl.DataFrame(
        {
            "duty_id": [d.id for d in catalogue.duties],
            "role": [d.role for d in catalogue.duties],
            "duty_text": [d.text for d in catalogue.duties],
            "frequency_label": [FREQUENCIES[d.frequency] for d in catalogue.duties],
            "signal_text": [d.signal_text for d in catalogue.duties],
            "measured": [d.measured for d in catalogue.duties],
        }
    )


@scoped
def duty_status(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """One row per person, duty and period due in ``f``: person_id, name, role,
    village_id, subgrid_id, duty_id, period_start, period_label, value, target, status
    (已完成/未完成/本期无需/待评价), due, done."""
    catalogue = catalogue or read_catalogue()
    memo = batch_store()  # a page asks for the same rows from several functions
    key = ("duty_status", f, catalogue)
    if memo is not None and key in memo:
        return memo[key]
    rows = duty_rows(fetch_facts(con, f), catalogue, f)
    if memo is not None:
        memo[key] = rows
    return rows


@scoped
def person_duties(
    con: duckdb.DuckDBPyConnection, f: Filter, catalogue: DutyCatalogue | None = None
) -> pl.DataFrame:
    """Per person and duty over ``f``'s range (the CLI's ``duties``): person_id, name,
    role, village_id, subgrid_id, duty (its id), due, done, unrated (half-years
    awaiting a 履职评价) — every duty of every team member held to one in the range."""
    rows = duty_status(con, f, catalogue)
    return (
        rows.group_by("person_id", "name", "role", "village_id", "subgrid_id", "duty_id")
        .agg(
            pl.col("due").sum().cast(pl.Int64),
            pl.col("done").sum().cast(pl.Int64),
            (pl.col("status") == "待评价").sum().cast(pl.Int64).alias("unrated"),
        )
        .rename({"duty_id": "duty"})
        .sort("person_id", "duty")
    )


@scoped
def duties_of_person(
    con: duckdb.DuckDBPyConnection,
    f: Filter,
    person_id: str,
    catalogue: DutyCatalogue | None = None,
) -> pl.DataFrame:
    """A person's duties, period by period (newest first): duty_id, duty_text,
    signal_text, period_label, status, value, target — empty for a person outside the
    scope."""
    table = duty_catalogue(catalogue).select("duty_id", "duty_text", "signal_text")
    rows = duty_status(con, f, catalogue).filter(pl.col("person_id") == person_id)
    return (
        rows.join(table, on="duty_id", how="left")
        .sort("period_start", "duty_id", descending=[True, False])
        .select("duty_id", "duty_text", "signal_text", "period_label", "status", "value", "target")
    )
