"""督办 on screen: the counts and the oldest open items (总览, 村居详情), and the 督办
page's list, item picker and history. The forms that change an item are in
:mod:`ui.supervision_forms`.

Items are read from the run's snapshot uncached (:func:`ui.db.reader`): they change
without an upload, so a cache keyed by the data version would show stale ones. The
owners' names are shown as the user may see them (:mod:`ui.privacy`).
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from supervise import items as supervision
from supervise.tables import ANSWERED, CLOSED, NOT_CLOSED, OPEN, OVERDUE, SOURCES
from ui import session
from ui.db import reader
from ui.filters import View, to_params
from ui.navigation import page_path
from ui.privacy import display_name
from ui.tables import data_grid, rows_height, show_records
from ui.text import plain

STATUS_FILTERS = ("未办结", OPEN, ANSWERED, OVERDUE, CLOSED, "全部")
SOURCE_ALL = "全部来源"
NOTICE_KEY = "_supervision_notice"
SHOWN_STATUSES = (OPEN, ANSWERED, OVERDUE, CLOSED)
STATUS_COLOURS = {OPEN: "blue", ANSWERED: "green", OVERDUE: "red", CLOSED: "gray"}


def owner_text(role: str | None, name: str | None) -> str:
    """'子网格长 王东' (masked for a 镇领导), or the post with （空缺）."""
    if not name:
        return f"{role or '责任人'}（空缺）"
    return f"{role or ''} {display_name(name)}".strip()


def days_text(days: int | None, status: str) -> str:
    """'还剩 3 天' / '今天到期' / '逾期 2 天' — nothing for a closed item."""
    if status == CLOSED or days is None:
        return ""
    if days > 0:
        return f"还剩 {days} 天"
    return "今天到期" if days == 0 else f"逾期 {-days} 天"


def shown(frame: pl.DataFrame) -> pl.DataFrame:
    """The items as the tables show and export them, with Chinese headers."""
    if frame.is_empty():
        return pl.DataFrame()
    owners = [owner_text(r, n) for r, n in zip(frame["owner_role"], frame["owner"], strict=True)]
    days = [days_text(d, s) for d, s in zip(frame["days_left"], frame["status"], strict=True)]
    # What to act on first (status, time left, who), then the long text.
    return pl.DataFrame(
        {
            "编号": frame["item_id"],
            "状态": frame["status"],
            "期限": days,
            "来源": frame["source_label"],
            "村居": frame["village_name"],
            "子网格": frame["subgrid_name"].fill_null(""),
            "责任人": owners,
            "截止日期": frame["deadline"].dt.strftime("%Y-%m-%d"),
            "督办内容": frame["subject"],
            "立项时间": frame["opened_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "反馈": frame["feedback"].fill_null(""),
        }
    )


def status_cards(village_id: str | None) -> dict[str, int]:
    """The count per status on one line of coloured badges (four cards would fill a
    phone's screen); returns the counts."""
    counts = supervision.status_counts(reader(), village_id)
    st.markdown(" ".join(f":{STATUS_COLOURS[s]}-badge[{s} {counts[s]} 件]" for s in SHOWN_STATUSES))
    return counts


def follow_up_summary(view: View, limit: int = 5) -> None:
    """督办事项 on 总览 and 村居详情: the counts, the items open longest, the way to 督办."""
    st.subheader("督办事项")
    counts = status_cards(view.village_id)
    oldest = supervision.oldest_open(reader(), view.village_id, limit=limit)
    if oldest.is_empty():
        st.caption("目前没有在办的督办事项。")
    else:
        open_now = sum(counts[s] for s in NOT_CLOSED)
        st.caption(f"在办 {open_now} 件；下表为立项最早的 {oldest.height} 件。")
        show_records(shown(oldest), "督办_在办最久", key=f"follow_up_{view.village_id or 'town'}")
    st.page_link(
        page_path("supervision"),
        label="打开督办页：筛选、反馈与办结 →",
        icon=":material/assignment_late:",
        query_params=to_params(view),
    )


# ------------------------------------------------------------------ the 督办 page


def take_notice() -> None:
    """Show what the last change did (left by a form before it reran the page)."""
    text = session.take(NOTICE_KEY)
    if text:
        st.success(text)


def leave_notice(text: str) -> None:
    """A success message for the next run (the forms rerun the page after a change)."""
    session.put(NOTICE_KEY, text)


def item_filters() -> tuple[str | None, str | None]:
    """The status and source chosen (None: all); the village is the sidebar's."""
    left, right = st.columns(2)
    status = left.selectbox("状态", STATUS_FILTERS, key="supervision_status")
    sources = (SOURCE_ALL, *SOURCES)
    source = right.selectbox(
        "来源",
        sources,
        format_func=lambda s: SOURCES.get(s, s),
        key="supervision_source",
    )
    return (None if status == "全部" else status), (None if source == SOURCE_ALL else source)


def item_list(view: View, status: str | None, source: str | None) -> pl.DataFrame:
    """The items of the view's village (all villages: the town) under the filters."""
    frame = supervision.items(reader(), view.village_id, status=status, source=source)
    table = shown(frame)
    if frame.is_empty():
        st.info("没有符合条件的督办事项。")
        return frame
    st.caption(f"共 {frame.height} 件，最新立项在前。")
    show_records(table, "督办事项", key="supervision_items")
    return frame


def pick_item(frame: pl.DataFrame) -> dict | None:
    """The item to look at and act on, picked from the listed ones."""
    if frame.is_empty():
        return None
    rows = {r["item_id"]: r for r in frame.iter_rows(named=True)}

    def label(item_id: int) -> str:
        r = rows[item_id]
        unit = (r["village_name"] or "") + (r["subgrid_name"] or "")
        return f"#{item_id} {unit} · {r['source_label']} · {r['status']}"

    chosen = st.selectbox("办理事项", list(rows), format_func=label, key="supervision_pick")
    return rows.get(chosen)


def item_detail(item: dict) -> None:
    """What the item says, where it stands, and its history (compact: it must read on
    a phone too). Texts come from the registry and from people: shown as plain text."""
    unit = (item["village_name"] or "") + (item["subgrid_name"] or "")
    st.markdown(f"**#{item['item_id']} {plain(item['source_label'])} · {plain(unit)}**")
    st.markdown(plain(item["subject"]))
    left = days_text(item["days_left"], item["status"])
    st.markdown(
        f"状态：**{item['status']}** · 截止：{item['deadline']:%Y-%m-%d}"
        + (f"（{left}）" if left else "")
        + f" · 责任人：{plain(owner_text(item['owner_role'], item['owner']))}"
    )
    if item["feedback"]:
        st.info(f"村居反馈（{item['feedback_at']:%Y-%m-%d %H:%M}）：{plain(item['feedback'])}")
    if item["status"] == CLOSED:
        note = f"：{plain(item['closing_note'])}" if item["closing_note"] else ""
        st.success(f"已于 {item['closed_at']:%Y-%m-%d %H:%M} 办结{note}")
    events = supervision.history(reader(), item["item_id"], item["village_id"])
    st.caption("办理记录")
    table = events.select(
        pl.col("logged_at").dt.strftime("%Y-%m-%d %H:%M").alias("时间"),
        pl.col("user_name").alias("操作人"),
        pl.col("action").alias("操作"),
        pl.col("detail").fill_null("").alias("内容"),
    )
    data_grid(table, height=rows_height(table.height, 8))
