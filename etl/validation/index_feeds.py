"""What an upload's evaluation and deduction rows feed: notes for the upload report.

A 测评 row counts in an index only when its unit, index and 测评类型 fit the index's
definition (docs/metrics.md, 测评): a 堡垒指数 score of a sub-grid, a 先锋指数 score of
a party member with a sub-grid, by a rater whose weight in ``indices.toml`` is above 0.
Every evaluation table gets one note per group of rows saying what they feed, or why
they feed nothing (a village's own 堡垒指数 score, a person who is no member, a rater
without weight): no survey row is loaded in silence.

A 反向扣分 row whose item the deduction catalogue (``deductions.toml``) marks as
already scored by a metric is loaded but not counted, with a warning; an item the
catalogue does not list is counted, with a warning naming the catalogue file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from etl.raw_table import ROW
from etl.validation.findings import REPORT_SCHEMA, empty_report
from etl.validation.typed_table import Part
from store.deduction_catalogue import CATALOGUE_FILE, read_catalogue
from store.paths import CONFIG_DIR
from store.survey_raters import INDICES_FILE, read_rater_weights
from store.toml_config import ConfigError, number_text

FORTRESS, VANGUARD = "堡垒指数", "先锋指数"
# What each kind of unit is, for the notes.
UNIT_WORDS = {"subgrid": "子网格", "village": "村居", "member": "党员", "person": "非党员人员"}


def feed_notes(
    con: duckdb.DuckDBPyConnection, parts: Sequence[Part], config_dir: str | Path = CONFIG_DIR
) -> list[pl.DataFrame]:
    """The notes (report frames: 文件, 行号, 列, 值, 原因) on the evaluation and
    deduction tables of an upload."""
    notes = [empty_report()]
    evaluations = [p for p in parts if p.kind.name == "evaluation"]
    deductions = [p for p in parts if p.kind.name == "deduction"]
    if evaluations:
        kinds = _unit_kinds(con, parts, evaluations)
        try:
            weights = read_rater_weights(config_dir)
        except ConfigError as exc:
            notes += [
                _file_note(p, "测评类型", "", f"无法判断测评的用途：{exc}") for p in evaluations
            ]
        else:
            notes += [_evaluation_notes(p, kinds, weights) for p in evaluations]
    if deductions:
        try:
            catalogue = read_catalogue(config_dir)
        except ConfigError as exc:
            notes += [_file_note(p, "扣分事项", "", f"无法核对扣分目录：{exc}") for p in deductions]
        else:
            notes += [_deduction_notes(p, catalogue) for p in deductions]
    return notes


def _unit_kinds(
    con: duckdb.DuckDBPyConnection, parts: Sequence[Part], evaluations: list[Part]
) -> pl.DataFrame:
    """``unit_id, unit_kind`` (subgrid, village, member, person) of every unit the
    evaluation tables name, from the database and the people of the same upload."""
    ids = pl.concat([p.typed["unit_id"] for p in evaluations]).drop_nulls().unique()
    stored = con.execute(
        """SELECT u.unit_id,
    CASE WHEN s.subgrid_id IS NOT NULL THEN 'subgrid'
         WHEN v.village_id IS NOT NULL THEN 'village'
         WHEN p.is_party_member AND p.subgrid_id IS NOT NULL THEN 'member'
         WHEN p.person_id IS NOT NULL THEN 'person' END AS unit_kind
FROM (SELECT unnest(?::VARCHAR[]) AS unit_id) u
LEFT JOIN subgrid s ON s.subgrid_id = u.unit_id
LEFT JOIN village v ON v.village_id = u.unit_id
LEFT JOIN person p ON p.person_id = u.unit_id""",
        [ids.to_list()],
    ).fetchall()
    kinds = dict(stored)
    # The roster of the same upload decides for the people it lists (it is what loads).
    for p in parts:
        if p.kind.name == "person" and {"is_party_member", "subgrid_id"} <= set(p.typed.columns):
            for pid, member, subgrid in p.typed.select(
                "person_id", "is_party_member", "subgrid_id"
            ).iter_rows():
                if kinds.get(pid) not in ("subgrid", "village"):
                    kinds[pid] = "member" if member and subgrid is not None else "person"
    return pl.DataFrame(
        {"unit_id": list(kinds), "unit_kind": list(kinds.values())},
        schema={"unit_id": pl.String, "unit_kind": pl.String},
    )


def _feeds(index: str, unit_kind: str | None, rater: str, weights: dict) -> str:
    """What one group of evaluation rows feeds, in one Chinese sentence."""
    wanted = {FORTRESS: "subgrid", VANGUARD: "member"}.get(index)
    if unit_kind == "village" and index == FORTRESS:
        return "不计入任何指数：村居的堡垒指数由其各子网格的指数汇总，村居本身的测评不参与计算"
    if unit_kind != wanted:
        what = UNIT_WORDS.get(unit_kind or "", "该对象")
        return f"不计入任何指数：{index}只按{UNIT_WORDS[wanted]}测评计算，对象为{what}"
    weight = weights.get(index, {}).get(rater, 0.0)
    if weight <= 0:
        return f"不计入任何指数：{INDICES_FILE} 中{index}的测评类型权重未包含“{rater}”"
    return f"计入{index}的“测评”部分（{rater}权重 {number_text(weight)}%）"


def _evaluation_notes(part: Part, kinds: pl.DataFrame, weights: dict) -> pl.DataFrame:
    """One note per (index, unit kind, rater) group of an evaluation table."""
    frame = part.typed.select(ROW, "unit_id", "index_name", "rater").join(
        kinds, on="unit_id", how="left"
    )
    groups = (
        frame.filter(pl.col("index_name").is_not_null() & pl.col("rater").is_not_null())
        .group_by("index_name", "unit_kind", "rater")
        .agg(first=pl.col(ROW).min(), rows=pl.len())
        .sort("first")
    )
    header = part.raw.headers.get("rater", "测评类型")
    rows = [
        (
            part.label,
            first,
            header,
            f"{index}·{rater}",
            f"{_rows_text(first, n)}{_feeds(index, unit_kind, rater, weights)}",
        )
        for index, unit_kind, rater, first, n in groups.iter_rows()
    ]
    return pl.DataFrame(rows, schema=REPORT_SCHEMA, orient="row")


def _rows_text(first: int, n: int) -> str:
    return f"第 {first} 行" if n == 1 else f"共 {n} 行（第 {first} 行起）"


def _deduction_notes(part: Part, catalogue) -> pl.DataFrame:
    """A warning per deduction row whose item is already scored or not catalogued."""
    scored = [i.item for i in catalogue if not i.counted]
    listed = [i.item for i in catalogue]
    item = pl.col("item")
    reason = (
        pl.when(item.is_in(pl.Series(scored, dtype=pl.String).implode()))
        .then(
            pl.lit(
                f"该事项已由相应指标计分（扣分目录 {CATALOGUE_FILE} 标为重复计分），"
                "已载入但不再扣分，以免重复扣分"
            )
        )
        .when(~item.is_in(pl.Series(listed, dtype=pl.String).implode()))
        .then(
            pl.lit(
                f"扣分事项不在扣分目录（data/config/{CATALOGUE_FILE}）中，仍按所填分值扣分；"
                "如为常用事项请补入目录"
            )
        )
    )
    header = part.raw.headers.get("item", "扣分事项")
    return (
        part.typed.select(ROW, "item", reason.alias("原因"))
        .filter(pl.col("原因").is_not_null())
        .select(
            pl.lit(part.label).alias("文件"),
            pl.col(ROW).cast(pl.Int64).alias("行号"),
            pl.lit(header).alias("列"),
            pl.col("item").fill_null("").alias("值"),
            "原因",
        )
    )


def _file_note(part: Part, column: str, value: str, reason: str) -> pl.DataFrame:
    return pl.DataFrame(
        [(part.label, None, column, value, reason)], schema=REPORT_SCHEMA, orient="row"
    )
