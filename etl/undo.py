"""Undo of an upload batch: put back exactly the state before it (docs/loading.md).

What a batch wrote is known from its bookkeeping (:mod:`etl.schema`): the natural keys
it inserted or replaced (``upload_keys``, one Parquet blob per kind,
:mod:`etl.batch_keys`) and the rows it replaced (``upload_prior_<kind>``). Undoing
deletes the rows with those keys and re-inserts the prior rows. It is refused —
nothing changed — when a later, live batch wrote some of the same keys (undo newest
first), or when rows of other uploads still refer to ids the batch added (sign-ins of
its activities, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from etl.batch_keys import batch_keys, key_match, read_keys_blob
from etl.history import FOREIGN_LABELS
from etl.rollups import months_touched
from etl.schema import bump_data_version, ensure_upload_schema, prior_table
from etl.upsert import LOAD_ORDER
from etl.validation.references import REFERENCES
from etl.write_access import WRITE_LOCK, refresh_rollups
from store import audit
from store.clock import now_local, today_local
from store.contracts import KINDS, Kind
from store.database import run_sql, transaction


class UndoRefused(Exception):
    """An undo that cannot be done safely; the message says why and what to do."""


@dataclass
class UndoResult:
    """What :func:`undo_upload` did."""

    batch_id: int
    upload_ids: list[int]
    files: list[str]
    removed: dict[str, int]
    restored: dict[str, int]


def undo_upload(con: duckdb.DuckDBPyConnection, upload_id: int, user: str) -> UndoResult:
    """Undo the batch that ``upload_id`` belongs to, restoring exactly the prior state.

    All tables of the batch are undone together (they were loaded together). Raises
    :class:`UndoRefused` (Chinese message) when the upload does not exist, is already
    undone, was replaced in part by a later upload, or added ids that other uploads'
    rows still refer to; nothing is changed then.
    """
    with WRITE_LOCK:
        ensure_upload_schema(con)
        rows = run_sql(con, "SELECT batch_id, status FROM upload WHERE upload_id = ?", [upload_id])
        row = rows[0] if rows else None
        if row is None:
            raise UndoRefused(f"没有编号为 {upload_id} 的上传记录")
        batch_id, status = row
        if batch_id is None:
            raise UndoRefused(f"第 {upload_id} 次上传早于撤销功能，没有撤销所需的记录，无法撤销")
        if status == "undone":
            raise UndoRefused(f"第 {upload_id} 次上传已经撤销过了")
        files = con.execute(
            "SELECT upload_id, file_name, kind FROM upload WHERE batch_id = ? ORDER BY upload_id",
            [batch_id],
        ).fetchall()
        foreign = sorted({f[2] for f in files if f[2] not in KINDS})
        if foreign:
            # e.g. a boundary (GeoJSON) upload: it replaces its table whole and keeps no
            # prior rows, so this loader cannot restore what was there before.
            what = "、".join(FOREIGN_LABELS.get(k, k) for k in foreign)
            raise UndoRefused(
                f"第 {upload_id} 次上传是{what}，不是台账数据，无法撤销；"
                "如需恢复，请重新上传之前的文件"
            )
        kinds = [KINDS[k] for k in LOAD_ORDER if any(f[2] == k for f in files)]
        _refuse_if_replaced_later(con, batch_id, kinds)
        with transaction(con):
            removed, restored, months = _undo_rows(con, batch_id, kinds, today_local())
            run_sql(
                con,
                "UPDATE upload SET status = 'undone', undone_at = ?, undone_by = ? "
                "WHERE batch_id = ?",
                [now_local(), user, batch_id],
            )
            refresh_rollups(con, None if months is None else sorted(months))
            bump_data_version(con)
            audit.record(con, user, "undo", f"批次 {batch_id}：{'、'.join(f[1] for f in files)}")
    return UndoResult(batch_id, [f[0] for f in files], [f[1] for f in files], removed, restored)


def _describe_batches(con: duckdb.DuckDBPyConnection, batches: list[int]) -> str:
    rows = con.execute(
        "SELECT batch_id, string_agg(file_name, '、' ORDER BY upload_id), any_value(user_name), "
        "strftime(min(uploaded_at), '%Y-%m-%d %H:%M') FROM upload "
        "WHERE batch_id IN (SELECT unnest(?)) GROUP BY batch_id ORDER BY batch_id",
        [batches],
    ).fetchall()
    return "；".join(f"第 {b} 次（{names}，{who}，{when}）" for b, names, who, when in rows)


def _refuse_if_replaced_later(
    con: duckdb.DuckDBPyConnection, batch_id: int, kinds: list[Kind]
) -> None:
    """Refuse when a later, live batch wrote any key this batch wrote."""
    later: set[int] = set()
    for kind in kinds:
        mine = batch_keys(con, batch_id, kind)
        if mine.is_empty():
            continue
        others = run_sql(
            con,
            "SELECT batch_id, keys FROM upload_keys WHERE kind = ? AND batch_id > ?",
            [kind.name, batch_id],
        )
        for other, blob in others:
            theirs = read_keys_blob(blob)
            if not mine.join(theirs, on=list(kind.key), how="semi").is_empty():
                later.add(other)
    if later:
        newest = max(later)
        raise UndoRefused(
            f"无法撤销第 {batch_id} 次上传：之后的上传修改了其中的数据——"
            f"{_describe_batches(con, sorted(later))}。"
            f"请按从新到旧的顺序撤销，先撤销第 {newest} 次上传。"
        )


def _undo_rows(
    con: duckdb.DuckDBPyConnection, batch_id: int, kinds: list[Kind], today: date
) -> tuple[dict[str, int], dict[str, int], set[date] | None]:
    """Inside the transaction: delete the batch's rows, restore the replaced ones.

    Returns rows removed and restored per kind, and the months touched (None: roster).
    """
    removed: dict[str, int] = {}
    restored: dict[str, int] = {}
    months: set[date] | None = set()
    added: dict[str, pl.Series] = {}
    parents = {t for r in REFERENCES for t in r.targets}
    for kind in reversed(kinds):  # children first: their months need the parents' dates
        prior = prior_table(kind)
        mine = batch_keys(con, batch_id, kind)
        con.register("_keys", mine)
        try:
            match = key_match(kind, "t", "k")
            if kind.name in parents:
                key = kind.key[0]
                replaced = con.sql(
                    f"SELECT {key} FROM {prior} WHERE batch_id = ?", params=[batch_id]
                ).pl()[key]
                added[kind.name] = mine[key].filter(~mine[key].is_in(replaced.implode()))
            current = f"(SELECT t.* FROM {kind.table} t WHERE EXISTS (FROM _keys k WHERE {match}))"
            old = f"(SELECT * FROM {prior} WHERE batch_id = $batch)"
            for relation in (current, old):
                found = months_touched(con, kind, relation, today, batch_id)
                months = None if months is None or found is None else months | found
            removed[kind.name] = run_sql(
                con, f"DELETE FROM {kind.table} t USING _keys k WHERE {match}"
            )[0][0]
        finally:
            con.unregister("_keys")
        cols = ", ".join(kind.names)
        restored[kind.name] = run_sql(
            con,
            f"INSERT INTO {kind.table} ({cols}) SELECT {cols} FROM {prior} WHERE batch_id = ?",
            [batch_id],
        )[0][0]
        run_sql(con, f"DELETE FROM {prior} WHERE batch_id = ?", [batch_id])
    run_sql(con, "DELETE FROM upload_keys WHERE batch_id = ?", [batch_id])
    _refuse_if_still_referenced(con, batch_id, added)
    return removed, restored, months


def _holders(con: duckdb.DuckDBPyConnection, kind: Kind, rows: pl.DataFrame) -> list[int]:
    """The live batches whose keys include any of ``rows`` (key columns of ``kind``)."""
    found = []
    for other, blob in run_sql(
        con, "SELECT batch_id, keys FROM upload_keys WHERE kind = ? ORDER BY 1", [kind.name]
    ):
        theirs = read_keys_blob(blob)
        if not rows.join(theirs, on=list(kind.key), how="semi").is_empty():
            found.append(other)
    return found


def _refuse_if_still_referenced(
    con: duckdb.DuckDBPyConnection, batch_id: int, added: dict[str, pl.Series]
) -> None:
    """After the deletes: rows of other uploads must not refer to ids the batch added."""
    for ref in REFERENCES:
        gone = [added[t] for t in ref.targets if t in added and added[t].len()]
        if not gone:
            continue
        child = KINDS[ref.kind]
        con.register("_gone", pl.concat(gone).rename("v").to_frame())
        try:
            dangling = con.sql(
                f"SELECT {', '.join(child.key)}, {ref.column} AS _ref FROM {child.table} "
                f"WHERE {ref.column} IN (SELECT v FROM _gone)"
            ).pl()
        finally:
            con.unregister("_gone")
        if dangling.is_empty():
            continue
        holders = _holders(con, child, dangling.select(child.key))
        header = child.column(ref.column).header
        where = (
            f"它们来自{_describe_batches(con, holders)}。请先撤销这些上传"
            if holders
            else "请先更正或删除这些行"
        )
        raise UndoRefused(
            f"无法撤销第 {batch_id} 次上传：{child.label}中还有 {dangling.height} 行的{header}"
            f"引用了本次上传新增的编号（如 {dangling['_ref'].min()}），{where}。"
        )
