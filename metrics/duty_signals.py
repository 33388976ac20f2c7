"""Each duty of the 责任清单, per person and period, measured by its signal
(docs/metrics.md, 责任落实; the signals in data/config/duties.toml).

A person is held to a duty of their role for a period when they were on the roll the
whole period (起始日期 on or before its first day, 终止日期 empty or on or after its
last): a newcomer is judged from their first full period, a leaver up to their last.
Each (person, duty, period) gets a status:

* 已完成 / 未完成 — the signal reached, or not, its target (a count: the person's own
  activities, reports, notices; a share: of the unit's reports, matters or pairs);
* 本期无需 — a share signal with nothing to take a share of (no reports in the
  sub-grid, no matter decided …): not due;
* 待评价 — a 需人工评价 duty with no 履职评价 for the half-year yet: not due.

Due = 已完成 + 未完成; done = 已完成.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from metrics.duty_facts import DutyFacts
from metrics.duty_periods import Period, periods_in
from metrics.filters import Filter
from store.duty_catalogue import PERIOD_MONTHS, RATING_DONE, Duty, DutyCatalogue

DONE, NOT_DONE, NOT_DUE, UNRATED = "已完成", "未完成", "本期无需", "待评价"
STATUSES = (DONE, NOT_DONE, NOT_DUE, UNRATED)
COUNT_SIGNALS = ("organise", "attend", "report", "study_notice")
ROW_SCHEMA = {
    "person_id": pl.String,
    "name": pl.String,
    "role": pl.String,
    "village_id": pl.String,
    "subgrid_id": pl.String,
    "duty_id": pl.String,
    "period_start": pl.Date,
    "period_label": pl.String,
    "value": pl.Int64,
    "target": pl.Int64,
    "status": pl.String,
    "due": pl.Boolean,
    "done": pl.Boolean,
}


def duty_rows(facts: DutyFacts, catalogue: DutyCatalogue, f: Filter) -> pl.DataFrame:
    """One row per person, duty and period due in ``f`` (see the module's rules)."""
    frames = []
    for duty in catalogue.duties:
        periods = periods_in(f, duty.frequency)
        held = _holders(facts.people, duty.role, periods)
        if held.is_empty():
            continue
        measured = _measure(duty, held, facts)
        frames.append(
            measured.with_columns(pl.lit(duty.id).alias("duty_id")).select(
                [c for c in ROW_SCHEMA if c not in ("due", "done")]
            )
        )
    if not frames:
        return pl.DataFrame(schema=ROW_SCHEMA)
    rows = pl.concat(frames)
    return rows.with_columns(
        pl.col("status").is_in([DONE, NOT_DONE]).alias("due"),
        (pl.col("status") == DONE).alias("done"),
    ).sort("duty_id", "period_start", "person_id")


def _holders(people: pl.DataFrame, role: str, periods: list[Period]) -> pl.DataFrame:
    """The people of ``role`` on the roll for the whole of each period."""
    if not periods:
        return people.clear()
    table = pl.DataFrame(
        {
            "period_start": [p.start for p in periods],
            "period_last": [p.end - timedelta(days=1) for p in periods],
            "period_label": [p.label for p in periods],
        }
    )
    return (
        people.filter(pl.col("role") == role)
        .join(table, how="cross")
        .filter(
            (pl.col("active_from") <= pl.col("period_start"))
            & (pl.col("active_to").is_null() | (pl.col("active_to") >= pl.col("period_last")))
        )
    )


def _period_of(column: str, frequency: str) -> pl.Expr:
    """The first day of the period of ``frequency`` that ``column`` (a date) falls in."""
    span = PERIOD_MONTHS[frequency]
    value = pl.col(column)
    return pl.date(value.dt.year(), (value.dt.month() - 1) // span * span + 1, 1).alias(
        "period_start"
    )


def _measure(duty: Duty, held: pl.DataFrame, facts: DutyFacts) -> pl.DataFrame:
    """``held`` (person × period) with ``value``, ``target`` and ``status``."""
    if duty.signal in COUNT_SIGNALS:
        return _counted(duty, held, facts)
    if duty.signal == "manual":
        return _rated(duty, held, facts)
    return _shared(duty, held, facts)


def _counted(duty: Duty, held: pl.DataFrame, facts: DutyFacts) -> pl.DataFrame:
    source = {
        "organise": facts.organised,
        "attend": facts.attended,
        "report": facts.reported,
        "study_notice": facts.notices,
    }[duty.signal]
    if duty.activity_types:
        source = source.filter(pl.col("activity_type").is_in(list(duty.activity_types)))
    counts = (
        source.with_columns(_period_of("month", duty.frequency))
        .group_by("person_id", "period_start")
        .agg(pl.col("n").sum().cast(pl.Int64).alias("value"))
    )
    out = held.join(counts, on=["person_id", "period_start"], how="left").with_columns(
        pl.col("value").fill_null(0), pl.lit(duty.min_count, dtype=pl.Int64).alias("target")
    )
    return out.with_columns(
        pl.when(pl.col("value") >= pl.col("target"))
        .then(pl.lit(DONE))
        .otherwise(pl.lit(NOT_DONE))
        .alias("status")
    )


def _shared(duty: Duty, held: pl.DataFrame, facts: DutyFacts) -> pl.DataFrame:
    """A share signal: ``value`` of ``target`` items were handled as the duty asks."""
    freq = duty.frequency
    hours = duty.within_hours or 0.0
    if duty.signal == "accept":
        unit, items = (
            "subgrid_id",
            facts.reports.with_columns(
                _period_of("reported_at", freq),
                (pl.col("accept_h") <= hours).fill_null(False).alias("ok"),
            ),
        )
    elif duty.signal in ("forward", "discuss"):
        ok = (
            (pl.col("forward_h") <= hours).fill_null(False)
            if duty.signal == "forward"
            else pl.col("meeting_id").is_not_null()
        )
        unit = "subgrid_id" if duty.signal == "forward" else "village_id"
        items = facts.reports.filter(pl.col("escalated_at").is_not_null()).with_columns(
            _period_of("escalated_at", freq), ok.alias("ok")
        )
    elif duty.signal == "supervise":
        unit, items = (
            "village_id",
            facts.decisions.with_columns(
                _period_of("proposed_on", freq), pl.col("supervised_on").is_not_null().alias("ok")
            ),
        )
    elif duty.signal == "publish":
        within = duty.within_days or 0.0
        unit, items = (
            "village_id",
            facts.decisions.filter(pl.col("resolved_on").is_not_null()).with_columns(
                _period_of("resolved_on", freq),
                (pl.col("publish_days") <= within).fill_null(False).alias("ok"),
            ),
        )
    else:  # pairing: the person's pairs in force in the period, and whether they met
        unit, items = "person_id", _pair_periods(held, facts, freq)
    totals = items.group_by(unit, "period_start").agg(
        pl.len().cast(pl.Int64).alias("target"), pl.col("ok").sum().cast(pl.Int64).alias("value")
    )
    out = held.join(totals, on=[unit, "period_start"], how="left").with_columns(
        pl.col("target").fill_null(0), pl.col("value").fill_null(0)
    )
    share_met = pl.col("value") >= pl.col("target") * (duty.min_share - 1e-9)
    return out.with_columns(
        pl.when(pl.col("target") == 0)
        .then(pl.lit(NOT_DUE))
        .when(share_met)
        .then(pl.lit(DONE))
        .otherwise(pl.lit(NOT_DONE))
        .alias("status")
    )


def _pair_periods(held: pl.DataFrame, facts: DutyFacts, frequency: str) -> pl.DataFrame:
    """person_id (the mentor), period_start, ok: one row per pair in force in a period."""
    periods = held.select("period_start", "period_last").unique()
    pairs = facts.pairs.join(periods, how="cross").filter(
        (pl.col("active_from") <= pl.col("period_last"))
        & (pl.col("active_to").is_null() | (pl.col("active_to") >= pl.col("period_start")))
    )
    met = (
        facts.pair_meetings.with_columns(_period_of("month", frequency))
        .select("pair_id", "period_start")
        .unique()
        .with_columns(pl.lit(True).alias("ok"))
    )
    return pairs.join(met, on=["pair_id", "period_start"], how="left").with_columns(
        pl.col("ok").fill_null(False)
    )


def _rated(duty: Duty, held: pl.DataFrame, facts: DutyFacts) -> pl.DataFrame:
    """需人工评价: the half-year's 履职评价, or 待评价 without one."""
    ratings = facts.ratings.filter(pl.col("duty_id") == duty.id).select(
        "person_id",
        pl.date(
            pl.col("period").str.slice(0, 4).cast(pl.Int32),
            pl.when(pl.col("period").str.ends_with("1")).then(1).otherwise(7),
            1,
        ).alias("period_start"),
        "result",
    )
    out = held.join(ratings, on=["person_id", "period_start"], how="left")
    return out.with_columns(
        pl.lit(1, dtype=pl.Int64).alias("target"),
        (pl.col("result") == RATING_DONE).cast(pl.Int64).fill_null(0).alias("value"),
        pl.when(pl.col("result").is_null())
        .then(pl.lit(UNRATED))
        .when(pl.col("result") == RATING_DONE)
        .then(pl.lit(DONE))
        .otherwise(pl.lit(NOT_DONE))
        .alias("status"),
    )
