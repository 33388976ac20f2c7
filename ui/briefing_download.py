"""The 月度通报 on 总览: one click for the PDF (or the same content as Excel).

The period is the month at the end of the sidebar's range, or the half-year holding it;
the scope is the view's (a 村居书记's is their village). The file is built when the
button is clicked, on a thread of its own: the user's village scope and name policy are
read now and carried into it, and the download is written to the audit log.
"""

from __future__ import annotations

import streamlit as st

from briefing.content import build
from briefing.fonts import FontMissing, cjk_font_dirs
from briefing.period import Period, parse_period
from briefing.typeset import render_pdf
from briefing.workbook import render_xlsx
from metrics.scope import current, restricted_to
from store import audit
from store.months import month_key
from ui import session
from ui.db import cursor
from ui.exports import XLSX_MIME, file_slug
from ui.filters import View
from ui.names import village_name
from ui.privacy import mask_name, sees_names

FORMATS = {
    "PDF": (".pdf", "application/pdf", render_pdf),
    "Excel": (".xlsx", XLSX_MIME, render_xlsx),
}


def periods(view: View) -> list[Period]:
    """The month at the end of the view, and its half-year."""
    month = view.end
    half = f"{month.year}H{1 if month.month <= 6 else 2}"
    return [parse_period(month_key(month)), parse_period(half)]


def briefing_bytes(
    period: Period, village_id: str | None, fmt: str, who: str, scope, names
) -> bytes:
    """Build and render the briefing (on the download's own thread), audited."""
    con = cursor()
    try:
        with restricted_to(scope):
            briefing = build(con, period, village_id, names=names)
        data = FORMATS[fmt][2](briefing)
        what = f"{briefing.title}（{briefing.scope} · {period.label}）{FORMATS[fmt][0]}"
        audit.record(con, who, "export", what)
        return data
    finally:
        con.close()


def briefing_download(view: View) -> None:
    """The period and format choice and the download button."""
    st.subheader("月度通报")
    choices = periods(view)
    left, middle, right = st.columns([3, 2, 3])
    period = left.radio(
        "通报期间",
        choices,
        format_func=lambda p: f"{p.kind}通报（{p.label}）",
        horizontal=True,
        key="briefing_period",
    )
    fmt = middle.radio("格式", list(FORMATS), horizontal=True, key="briefing_format")
    try:
        cjk_font_dirs()
    except FontMissing as exc:
        right.warning(str(exc))
        return
    suffix, mime, _ = FORMATS[fmt]
    scope_name = village_name(view.village_id)
    file_name = file_slug(f"{scope_name}网格化党建{period.kind}通报_{period.key}") + suffix
    # Read now: the button's callable runs on another thread, outside this run.
    who, scope, village = session.user_name(), current(), view.village_id
    names = (lambda n: n or "") if sees_names() else mask_name
    with right:
        st.write("")
        st.download_button(
            f"下载{scope_name}{period.kind}通报（{fmt}）",
            data=lambda: briefing_bytes(period, village, fmt, who, scope, names),
            file_name=file_name,
            mime=mime,
            icon=":material/description:",
            on_click="ignore",
            key="briefing_download",
        )
    st.caption(
        "通报含本月要点、主要指标（环比、同比）、排名、红色预警及责任人、报送情况、督办事项、"
        "趋势图和预警分布图；" + ("" if sees_names() else "姓名已脱敏；") + "生成约需数秒。"
    )
