"""报送情况: has each village reported each kind of data for each month of the range?
(see docs/pages.md, 报送情况, and docs/metrics.md for the rules)

Decisions:
* Whole town: one matrix per kind (活动, 出勤, 民情), villages × months, one under the
  other at full width (side by side, a phone had no room for the words). One village
  (a 村居书记 sees only theirs): one matrix, kinds × months.
* A cell is its status in words on its colour; the hover and the 明细 table say when
  the unit was first uploaded and by whom, or who declared 零报告.
* 未报送 units are listed first, by month and village: they are what the office
  chases.
"""

import polars as pl
import streamlit as st

from auth.store import current_store
from metrics import completeness as reporting
from metrics.glossary import TIME_FORMAT
from store.contracts import KINDS
from store.months import month_label, month_label_expr
from store.reporting_units import UNIT_KIND_LABELS, UNIT_KINDS
from ui import session
from ui.charts.look import chart
from ui.charts.status_matrix import status_heatmap, status_legend, unit_hover
from ui.db import query
from ui.filters import View
from ui.tables import show_records
from ui.text import plain
from ui.widgets import empty_notice, method_note, page_header

CARD_HELP = {
    "已报送": "有数据且按时上传（或上传时间不详，视为按时）的报送单元",
    "迟报": "有数据，但首次上传晚于次月规定日期的报送单元",
    "零报告": "没有数据，镇办已登记“本月无此类数据”的报送单元",
    "未报送": "没有数据，也没有零报告登记的报送单元",
}
DETAIL_ORDER = {"未报送": 0, "迟报": 1, "零报告": 2, "已报送": 3}


def month_ticks(months: list) -> list[str]:
    """The matrix columns' labels: '6月' within one year (the header names it), else
    '25年<br>11月' (two short lines fit a phone)."""
    if len({m.year for m in months}) == 1:
        return [f"{m.month}月" for m in months]
    return [f"{m.year % 100:02d}年<br>{m.month}月" for m in months]


def status_cards(frame: pl.DataFrame) -> None:
    """A card per status; on a phone two to a row (columns would stack all four)."""
    counts = reporting.status_counts(frame)
    with st.container(horizontal=True, gap="small"):
        for status, count in counts.items():
            st.metric(
                f"{status}（个）", f"{count:,}", help=CARD_HELP[status], border=True, width=165
            )
    st.caption(f"共 {frame.height:,} 个报送单元（村居 × 月份 × 数据类别）。")
    st.caption(f"颜色：{status_legend()}")


def unreported_list(frame: pl.DataFrame) -> None:
    """未报送: one line per village and month, latest month first."""
    missing = frame.filter(pl.col("status") == reporting.UNREPORTED)
    if missing.is_empty():
        st.success("所选范围内各村居的活动、出勤、民情数据均已报送（或已登记零报告）。")
        return
    grouped = (
        missing.group_by("month", "village_id", "village_name", maintain_order=True)
        .agg("kind")
        .sort("month", "village_id", descending=[True, False])
    )
    lines = [
        f"- {month_label(month)} {plain(name)}：未报送 "
        + "、".join(UNIT_KIND_LABELS[k] for k in kinds)
        for month, _, name, kinds in grouped.iter_rows()
    ]
    st.error(f"以下 {missing.height} 个报送单元未报送：\n\n" + "\n".join(lines))


def matrices(frame: pl.DataFrame, view: View) -> None:
    """The status matrices (see the module's decisions)."""
    cells = unit_hover(frame)
    ticks = month_ticks(sorted(frame["month"].unique().to_list()))
    if view.village_id:
        kinds = [k for k in UNIT_KINDS if k in set(frame["kind"])]
        labels = [UNIT_KIND_LABELS[k] for k in kinds]
        figure = status_heatmap(cells.sort("month"), "kind", labels, "month", ticks)
        chart(figure, key="completeness_matrix", height=90 + 34 * len(kinds))
        return
    villages = frame.unique("village_id", maintain_order=True)
    for kind in UNIT_KINDS:
        st.markdown(f"**{KINDS[kind].label}（{UNIT_KIND_LABELS[kind]}）**")
        part = cells.filter(pl.col("kind") == kind).sort("village_id", "month")
        names = villages["village_name"].to_list()
        figure = status_heatmap(part, "village_id", names, "month", ticks)
        chart(figure, key=f"completeness_matrix_{kind}", height=70 + 26 * villages.height)


def detail_table(frame: pl.DataFrame) -> None:
    """明细: every unit with its upload time and uploader, problems first."""
    kind_order = {kind: i for i, kind in enumerate(UNIT_KINDS)}
    shown = frame.with_columns(
        _order=pl.col("status").replace_strict(DETAIL_ORDER, return_dtype=pl.Int64),
        _kind=pl.col("kind").replace_strict(kind_order, return_dtype=pl.Int64),
    ).sort("_order", "month", "village_id", "_kind", descending=[False, True, False, False])
    table = shown.select(
        pl.col("village_name").alias("村居"),
        month_label_expr("month").alias("月份"),
        pl.col("kind").replace_strict(UNIT_KIND_LABELS, return_dtype=pl.String).alias("数据类别"),
        pl.col("status").alias("状态"),
        pl.col("first_upload_at").dt.strftime(TIME_FORMAT).fill_null("—").alias("首次上传时间"),
        pl.col("uploaded_by").fill_null("—").alias("上传人"),
        pl.col("rows").alias("行数"),
        pl.col("declared_by").fill_null("—").alias("零报告登记人"),
    )
    st.subheader("明细")
    show_records(table, "报送情况", key="completeness_detail")


def with_account_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Uploaders and declarers by their display names (an account no longer in the
    users file, or a command-line login, keeps its name)."""
    names = {u.username: u.display_name for u in current_store().users()}
    return frame.with_columns(pl.col(c).replace(names) for c in ("uploaded_by", "declared_by"))


def draw_page() -> None:
    page_header("报送情况")
    view = session.current_view()
    frame = with_account_names(query(reporting.completeness, view.start, view.end, view.village_id))
    if frame.is_empty():
        empty_notice("需要报送的月份")
    else:
        status_cards(frame)
        unreported_list(frame)
        st.subheader("报送矩阵")
        matrices(frame, view)
        detail_table(frame)
    method_note(reporting.method_text())


draw_page()
