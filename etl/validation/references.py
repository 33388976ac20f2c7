"""Reference checks: ids that must name an existing row, in the database or the upload.

Village, sub-grid, place, person and activity ids are looked up on their distinct
values (an anti-join in DuckDB), so a 1M-row file with 80k distinct activity ids costs
80k lookups, and the row-level rule only runs when something is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from etl.registry_upload import RegistryLists, registry_lists
from etl.validation.findings import Rule
from etl.validation.typed_table import Part
from store.contracts import KINDS


@dataclass(frozen=True)
class Reference:
    """``kind.column`` must name an existing row of one of the ``targets`` kinds."""

    kind: str
    column: str
    targets: tuple[str, ...]


REFERENCES: tuple[Reference, ...] = (
    Reference("subgrid", "village_id", ("village",)),
    Reference("service_point", "village_id", ("village",)),
    Reference("person", "village_id", ("village",)),
    Reference("person", "subgrid_id", ("subgrid",)),
    Reference("activity", "village_id", ("village",)),
    Reference("activity", "subgrid_id", ("subgrid",)),
    Reference("activity", "place_id", ("service_point",)),
    Reference("activity", "organizer_id", ("person",)),
    Reference("attendance", "activity_id", ("activity",)),
    Reference("attendance", "person_id", ("person",)),
    Reference("report", "subgrid_id", ("subgrid",)),
    Reference("report", "reporter_id", ("person",)),
    Reference("evaluation", "unit_id", ("subgrid", "village", "person")),
    Reference("deduction", "unit_id", ("subgrid", "village", "person")),
    Reference("report", "meeting_id", ("activity",)),
    Reference("pairing", "village_id", ("village",)),
    Reference("pairing", "mentor_id", ("person",)),
    Reference("pairing", "member_id", ("person",)),
    Reference("decision", "village_id", ("village",)),
    Reference("study_notice", "village_id", ("village",)),
    Reference("study_notice", "issuer_id", ("person",)),
    Reference("duty_rating", "person_id", ("person",)),
)

REFERENCE_REASONS = {
    ("village",): "村居编号不存在",
    ("subgrid",): "子网格编号不存在",
    ("service_point",): "活动地点编号不在党群服务站点名册中",
    ("person",): "人员编号不在人员名册中",
    ("activity",): "活动编号不存在（数据库和本次上传中都没有这项活动）",
    ("subgrid", "village", "person"): "对象编号不存在（应为子网格、村居或人员编号）",
}

PARENT_KINDS = ("village", "subgrid", "service_point", "person", "activity")
HINTED = ("village", "subgrid", "service_point")  # the kinds whose valid ids are listed
LISTED = 12  # valid ids named in one error before "等"
VILLAGES_LISTED = 20  # a town's villages are listed whole (漕泾镇 has 14)


def key_column(kind: str) -> str:
    """The single id column of a parent kind (the target of references)."""
    return KINDS[kind].key[0]


@dataclass
class Context:
    """What rows are checked against: existing ids (database ∪ this upload), today.

    ``missing`` holds, per (table index, column), the distinct referenced values that
    exist neither in the upload nor in the database. Checks run on distinct values, so
    a 1M-row file with 80k distinct activity ids costs 80k lookups, and the row-level
    rule only runs when something is missing. ``ids`` (the existing ids of each parent
    kind) and ``subgrid_village`` are only filled for the kinds whose rules need them
    (evaluations; activities and people).
    """

    ids: dict[str, pl.Series]
    missing: dict[tuple[int, str], pl.Series]
    subgrid_village: pl.DataFrame  # subgrid_id, village_id
    today: date
    # person_id, role of the people a 履职评价 rates (database ∪ upload), else None.
    person_roles: pl.DataFrame | None = None
    # The registry with names (upload ∪ database), when an id of it is missing: an
    # unknown-id error lists the valid ones.
    registry: RegistryLists | None = None


def build_context(con: duckdb.DuckDBPyConnection, parts: Sequence[Part], today: date) -> Context:
    """Find, per reference column, the distinct ids that exist neither in the upload nor
    in the database (an anti-join in DuckDB over the distinct values)."""
    by_kind: dict[str, list[Part]] = {}
    for p in parts:
        by_kind.setdefault(p.kind.name, []).append(p)
    distinct = _distinct_references(parts)
    own = {
        parent: [p.typed[key_column(parent)] for p in by_kind.get(parent, [])]
        for parent in PARENT_KINDS
    }
    missing = {}
    for ref in REFERENCES:
        for p in by_kind.get(ref.kind, []):
            values = distinct.get((p.index, ref.column))
            if values is None or values.is_empty():
                continue
            mine = [ids for t in ref.targets for ids in own[t]]
            if mine:
                values = values.filter(~values.is_in(pl.concat(mine).implode()))
            if values.len():
                absent = _absent(con, ref.targets, values)
                if absent.len():
                    missing[(p.index, ref.column)] = absent
    ids = _known_ids(con, by_kind, distinct, own) if "evaluation" in by_kind else {}
    subgrids = pl.DataFrame(schema={"subgrid_id": pl.String, "village_id": pl.String})
    if by_kind.keys() & {"activity", "person"}:
        subgrids = con.sql("SELECT subgrid_id, village_id FROM subgrid").pl()
        mine = [p.typed.select("subgrid_id", "village_id") for p in by_kind.get("subgrid", [])]
        if mine:
            subgrids = pl.concat([*mine, subgrids]).unique("subgrid_id", keep="first")
    roles = _person_roles(con, by_kind) if "duty_rating" in by_kind else None
    listed = {
        (p.index, r.column)
        for r in REFERENCES
        if set(r.targets) & set(HINTED)
        for p in by_kind.get(r.kind, [])
    }
    registry = registry_lists(con, parts) if listed & missing.keys() else None
    return Context(ids, missing, subgrids, today, roles, registry)


def _person_roles(con: duckdb.DuckDBPyConnection, by_kind: dict[str, list[Part]]) -> pl.DataFrame:
    """The role of every person (the upload's roster first): a duty is rated only on
    the people who hold its role."""
    stored = con.sql("SELECT person_id, role FROM person").pl()
    mine = [p.typed.select("person_id", "role") for p in by_kind.get("person", [])]
    return pl.concat([*mine, stored]).unique("person_id", keep="first")


def _distinct_references(parts: Sequence[Part]) -> dict[tuple[int, str], pl.Series]:
    """The distinct values of every reference column, one parallel select per table."""
    distinct: dict[tuple[int, str], pl.Series] = {}
    for p in parts:
        columns = [
            r.column for r in REFERENCES if r.kind == p.kind.name and r.column in p.text.columns
        ]
        if columns:
            found = p.typed.select(pl.col(c).drop_nulls().unique().implode() for c in columns)
            for c in columns:
                distinct[(p.index, c)] = found[c][0]
    return distinct


def _absent(
    con: duckdb.DuckDBPyConnection, targets: tuple[str, ...], values: pl.Series
) -> pl.Series:
    """The ``values`` that are the key of no row of any of the ``targets`` tables."""
    joins = " ".join(f"ANTI JOIN {t} ON c.v = {t}.{key_column(t)}" for t in targets)
    con.register("_candidates", values.rename("v").to_frame())
    try:
        found = con.sql(f"SELECT c.v FROM _candidates c {joins}").pl()
    finally:
        con.unregister("_candidates")
    return found["v"]


def _known_ids(
    con: duckdb.DuckDBPyConnection,
    by_kind: dict[str, list[Part]],
    distinct: dict[tuple[int, str], pl.Series],
    own: dict[str, list[pl.Series]],
) -> dict[str, pl.Series]:
    """Per parent kind, the referenced ids that exist (database or upload)."""
    ids: dict[str, pl.Series] = {}
    for parent in PARENT_KINDS:
        key = key_column(parent)
        wanted = [
            distinct[(p.index, ref.column)]
            for ref in REFERENCES
            if parent in ref.targets
            for p in by_kind.get(ref.kind, [])
            if (p.index, ref.column) in distinct
        ]
        found = [pl.Series(key, [], dtype=pl.String), *[s.rename(key) for s in own[parent]]]
        if wanted:
            candidates = pl.concat([w.rename("v") for w in wanted]).unique()
            if candidates.len():
                found.append(_existing(con, parent, key, candidates))
        ids[parent] = pl.concat(found).drop_nulls().unique()
    return ids


def _existing(
    con: duckdb.DuckDBPyConnection, table: str, key: str, candidates: pl.Series
) -> pl.Series:
    """Which of ``candidates`` exist as ``table.key`` (a semi-join in DuckDB)."""
    frame = candidates.to_frame("v")
    con.register("_candidates", frame)
    try:
        found = con.sql(
            f"SELECT {key} FROM {table} WHERE {key} IN (SELECT v FROM _candidates)"
        ).pl()
    finally:
        con.unregister("_candidates")
    return found[key]


def reference_rules(part: Part, ctx: Context) -> list[Rule]:
    """Ids that must exist in the database or in the same upload (only if some do not).

    An unknown village, sub-grid or place id is reported with the valid ones: those of
    the row's village (its 村居编号 column, else the village the id starts with), with
    their names, cut after :data:`LISTED` (every village when no village is known).
    """
    rules = []
    present = set(part.text.columns)
    for ref in REFERENCES:
        absent = ctx.missing.get((part.index, ref.column))
        if ref.kind != part.kind.name or absent is None:
            continue
        col = pl.col(ref.column)
        reason: str | pl.Expr = REFERENCE_REASONS[ref.targets]
        if ctx.registry is not None and set(ref.targets) & set(HINTED):
            reason = _reason_with_valid_ids(ref, ctx.registry, present)
        rules.append(Rule(ref.column, col.is_in(absent.implode()), reason))
    return rules


def _listing(label: str, pairs: list[tuple[str, str]], limit: int = LISTED) -> str:
    shown = "、".join(f"{i} {n}" for i, n in pairs[:limit])
    more = f" 等，共 {len(pairs)} 个" if len(pairs) > limit else ""
    return f"{label}：{shown}{more}" if pairs else f"{label}：无"


def _village_hints(registry: RegistryLists, targets: tuple[str, ...]) -> dict[str, str]:
    """village id → the valid ids of ``targets`` in that village, in words."""
    hints = {}
    for village, name in registry.villages.iter_rows():
        parts = []
        if "subgrid" in targets:
            own = registry.subgrids.filter(pl.col("village_id") == village)
            parts.append(
                _listing(f"{name}（{village}）的子网格", own.select("subgrid_id", "name").rows())
            )
        if "service_point" in targets:
            own = registry.points.filter(pl.col("village_id") == village)
            parts.append(
                _listing(f"{name}（{village}）的站点", own.select("place_id", "name").rows())
            )
        if "village" in targets and "subgrid" in targets:
            parts.insert(0, f"村居 {village} {name}")
        hints[village] = "；".join(parts)
    return hints


def _reason_with_valid_ids(ref: Reference, registry: RegistryLists, present: set[str]) -> pl.Expr:
    """The unknown-id reason followed by the valid ids for the row's village."""
    base = REFERENCE_REASONS[ref.targets]
    villages = _listing("现有村居", registry.villages.rows(), VILLAGES_LISTED)
    if ref.targets == ("village",):
        return pl.lit(f"{base}。{villages}")
    hints = _village_hints(registry, ref.targets)
    # The row's village: its own 村居编号 column where the kind has one and it names a
    # known village, else the id's prefix (CJ03-77 → CJ03: ids are built on the
    # village's, decision 0005).
    prefix = pl.col(ref.column).str.extract(r"^(.+)-[^-]*$")
    candidates = [prefix]
    if ref.column != "village_id" and "village_id" in present:
        candidates.insert(0, pl.col("village_id"))
    known = [c.replace_strict(hints, default=None, return_dtype=pl.String) for c in candidates]
    fallback = pl.lit(f"无法判断所属村居，请先核对编号前缀（应为村居编号）。{villages}")
    return pl.format("{}。{}", pl.lit(base), pl.coalesce(*known, fallback))
