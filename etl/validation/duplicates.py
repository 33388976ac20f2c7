"""Duplicate natural keys: within one table, and across the tables of one upload.

Reports are exempt across tables: a report filed again (same id, a later state) is the
normal case, and the latest state wins (:mod:`etl.upsert`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from etl.raw_table import ROW
from etl.validation.findings import empty_report
from etl.validation.typed_table import PART, Part
from store.contracts import KINDS, Kind


def _key_text(keys: list[str]) -> pl.Expr:
    """A row's key as a reason quotes it: ``HD202610-CJ03-01-001 / CJ03-P0002``."""
    return pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator=" / ")


def _key_headers(kind: Kind) -> str:
    """The key columns' headers as a reason names them: ``活动编号、人员编号``."""
    return "、".join(kind.column(k).header for k in kind.key)


def _may_have_duplicates(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Cheap test: distinct key hashes == rows proves the keys unique (3-4x faster than
    an exact duplicate search on 1M rows); a hash collision only costs the exact search."""
    combined = pl.lit(0, dtype=pl.UInt64)
    for seed, k in enumerate(keys):
        combined = combined ^ pl.col(k).hash(seed + 1)
    return frame.select(combined.n_unique()).item() != frame.height


def duplicate_rule_rows(part: Part) -> pl.DataFrame:
    """Rows repeating the natural key of an earlier row of the same table."""
    kind = part.kind
    keys = list(kind.key)
    frame = part.typed.select(*keys, ROW)
    if any(frame[k].null_count() for k in keys):  # (drop_nulls copies even when none)
        frame = frame.drop_nulls(keys)
    if not _may_have_duplicates(frame, keys):
        return empty_report()
    dup = frame.select(keys).is_duplicated()
    if not dup.any():
        return empty_report()
    rows = frame.filter(dup).with_columns(pl.col(ROW).min().over(keys).alias("_first"))
    rows = rows.filter(pl.col(ROW) != pl.col("_first"))
    blamed = keys[-1] if kind.name == "attendance" else keys[0]
    return rows.select(
        pl.lit(part.label).alias("文件"),
        pl.col(ROW).alias("行号"),
        pl.lit(part.raw.headers.get(blamed, kind.column(blamed).header)).alias("列"),
        _key_text(keys).alias("值"),
        pl.format(f"{_key_headers(kind)}重复：与第 {{}} 行相同", pl.col("_first")).alias("原因"),
    )


def cross_part_duplicates(parts: Sequence[Part]) -> pl.DataFrame:
    """Keys repeated across tables of the same kind in one upload (reports excepted)."""
    reports = [empty_report()]
    by_kind: dict[str, list[Part]] = {}
    for p in parts:
        by_kind.setdefault(p.kind.name, []).append(p)
    for name, group in by_kind.items():
        if len(group) < 2 or name == "report":
            continue
        kind = KINDS[name]
        keys = list(kind.key)
        frame = pl.concat([p.typed.select(*keys, ROW, PART) for p in group]).drop_nulls(keys)
        first = frame.group_by(keys).agg(
            pl.col(PART).first().alias("_fp"), pl.col(ROW).first().alias("_fr")
        )
        rows = frame.join(first, on=keys).filter(pl.col(PART) != pl.col("_fp"))
        if rows.is_empty():
            continue
        labels = {p.index: p.label for p in group}
        label = pl.col(PART).replace_strict(labels, return_dtype=pl.String)
        first_label = pl.col("_fp").replace_strict(labels, return_dtype=pl.String)
        reports.append(
            rows.select(
                label.alias("文件"),
                pl.col(ROW).alias("行号"),
                pl.lit(kind.column(keys[0]).header).alias("列"),
                _key_text(keys).alias("值"),
                pl.format(
                    f"{_key_headers(kind)}重复：与文件 {{}} 第 {{}} 行相同",
                    first_label,
                    pl.col("_fr"),
                ).alias("原因"),
            )
        )
    return pl.concat(reports)
