"""The arithmetic the metrics share, as Polars expressions: ratios, weighted parts
rescaled over those present, and threshold labels (stars, grades).

See docs/metrics.md for where each is used (堡垒指数, 先锋指数, 考核清单).
"""

from __future__ import annotations

import polars as pl

from metrics.config import THRESHOLD_TOLERANCE, Threshold


def ratio(numerator: str, denominator: str) -> pl.Expr:
    """``numerator ÷ denominator`` as a float, null when the denominator is 0."""
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator).cast(pl.Float64) / pl.col(denominator))
        .otherwise(None)
    )


def score(frame: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Add ``p_pts`` per part and ``raw``: weighted parts rescaled over those present.

    The value of part ``p`` is column ``v_p``, a fraction in [0, 1]; null means
    nothing to measure, and the part's weight is then shared out over the others.
    """
    available = pl.sum_horizontal(
        [pl.when(pl.col(f"v_{p}").is_null()).then(0.0).otherwise(w) for p, w in weights.items()]
    )
    points = [
        pl.when(available > 0)
        .then(w * pl.col(f"v_{p}") * 100.0 / available)
        .otherwise(None)
        .alias(f"{p}_pts")
        for p, w in weights.items()
    ]
    return frame.with_columns(points).with_columns(
        raw=pl.sum_horizontal([pl.col(f"{p}_pts").fill_null(0.0) for p in weights])
    )


def label_for(thresholds: tuple[Threshold, ...], column: str) -> pl.Expr:
    """Polars expression: the label of the first threshold ``column`` reaches.

    Within :data:`~metrics.config.THRESHOLD_TOLERANCE` counts as reached: an index is
    a mean of sums of fractions, and one that is exactly on a threshold can come out a
    few units in the last place below it, depending on the order the engine adds up
    its members (which parallel aggregation does not fix)."""
    expr = pl.lit(thresholds[-1].label)
    for t in reversed(thresholds[:-1]):
        reached = pl.col(column) >= t.min - THRESHOLD_TOLERANCE
        expr = pl.when(reached).then(pl.lit(t.label)).otherwise(expr)
    return pl.when(pl.col(column).is_null()).then(None).otherwise(expr)
