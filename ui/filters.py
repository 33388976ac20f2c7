"""Shared filters (month range, village): in the sidebar, kept across pages, in the URL.

The view lives in ``st.session_state`` so it survives page switches, and is written
to the query string on every run so that a copied link reproduces it. A link opened
in a new session (or a drill-down that sets the query string) wins over the session's
own state. Invalid query values fall back to the defaults with a notice.

:func:`to_filter` is the one conversion of a view into the metrics layer's
:class:`~metrics.Filter`: every page and test builds its filters through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import streamlit as st

from metrics import Filter
from store.clock import today_local
from store.months import add_months, month_label, month_or_none
from ui import session
from ui.navigation import page_path
from ui.periods import CUSTOM, latest_complete_month, period_label, periods
from ui.text import plain

PARAM_FROM, PARAM_TO, PARAM_VILLAGE = "from", "to", "village"
ALL_VILLAGES = ""

START_KEY, END_KEY, PERIOD_KEY = "filter_start", "filter_end", "filter_period"
VILLAGE_KEY, WRITTEN_KEY = "filter_village", "_filter_written"
# "The view's own village" for :func:`to_filter` (None means the whole town).
VIEW_VILLAGE = object()


@dataclass(frozen=True)
class View:
    """What the user is looking at: an inclusive month range and an optional village."""

    start: date
    end: date
    village_id: str | None


def scope_level(view: View) -> str:
    """The level of the view as a single unit: one village, else the town."""
    return "village" if view.village_id else "town"


def parts_level(view: View) -> str:
    """One level down from the scope: the town's villages, or the village's sub-grids."""
    return "subgrid" if view.village_id else "village"


def to_filter(
    view: View,
    level: str | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    village_id: str | object | None = VIEW_VILLAGE,
) -> Filter:
    """The metrics Filter for ``view``: at ``level`` (default: the view as one unit),
    over the view's months or ``start``…``end`` (``start`` alone: that one month),
    within the view's village or ``village_id`` (None: the whole town)."""
    village = view.village_id if village_id is VIEW_VILLAGE else village_id
    first = start or view.start
    last = end or start or view.end
    return Filter(first, last, level or scope_level(view), village)


TREND_MONTHS = 12


def trend_filter(view: View) -> Filter:
    """The Filter of a monthly trend: the view's months, at least the
    :data:`TREND_MONTHS` months ending at the view's last month."""
    return to_filter(
        view, start=min(view.start, add_months(view.end, 1 - TREND_MONTHS)), end=view.end
    )


def parts_filter(view: View) -> Filter:
    """The Filter of the view's parts: what a page compares side by side."""
    return to_filter(view, parts_level(view))


def months_in(months: Sequence[date], view: View) -> list[date]:
    """The data months that fall inside the view's range, in order."""
    return [m for m in months if view.start <= m <= view.end]


def default_view(months: Sequence[date], today: date | None = None) -> View:
    """The latest complete data month (ui.periods), whole town: what a Monday meeting
    talks about; pages compare it with the month before and a year before."""
    today = today or today_local()
    month = latest_complete_month(months, today) or today.replace(day=1)
    return View(month, month, None)


def view_from_params(
    params: Mapping[str, str],
    months: Sequence[date],
    village_ids: Sequence[str],
    scope: str | None = None,
) -> tuple[View, list[str]]:
    """The view a query string asks for, and notices for the values that were invalid.

    ``scope`` is the only village the user may see (村居书记): the view is always that
    village, and a link asking for another one says so. Notices are Markdown, with the
    link's values escaped: anyone can send a link.
    """
    view = default_view(months)
    notices = []
    start, end, village = view.start, view.end, view.village_id
    known = set(months)
    for key in (PARAM_FROM, PARAM_TO):
        raw = params.get(key)
        if raw is None:
            continue
        month = month_or_none(raw)
        if month is None or month not in known:
            notices.append(f"链接中的月份“{plain(raw)}”无效或无数据，已改用默认范围。")
            continue
        if key == PARAM_FROM:
            start = month
        else:
            end = month
    if start > end:
        notices.append("链接中的起始月份晚于结束月份，已改用默认范围。")
        start, end = view.start, view.end
    raw_village = params.get(PARAM_VILLAGE)
    if scope is not None:
        if raw_village and raw_village != scope:
            notices.append(
                f"当前账号只能查看本村居（{plain(scope)}），链接中的“{plain(raw_village)}”未显示。"
            )
        village = scope
    elif raw_village:
        if raw_village in village_ids:
            village = raw_village
        else:
            notices.append(f"链接中的村居编号“{plain(raw_village)}”不存在，已显示全镇。")
    return View(start, end, village), notices


def to_params(view: View) -> dict[str, str]:
    """The query string for a view."""
    params = {PARAM_FROM: f"{view.start:%Y-%m}", PARAM_TO: f"{view.end:%Y-%m}"}
    if view.village_id:
        params[PARAM_VILLAGE] = view.village_id
    return params


def sidebar(
    months: Sequence[date], villages: Sequence[tuple[str, str]], scope: str | None = None
) -> View:
    """Draw the shared filters in the sidebar and return the current view.

    With ``scope`` (a 村居书记's village) the village picker offers that village only.
    """
    village_ids = [v for v, _ in villages]
    names = dict(villages)
    params = {k: st.query_params.get(k) for k in (PARAM_FROM, PARAM_TO, PARAM_VILLAGE)}
    params = {k: v for k, v in params.items() if v is not None}
    from_link = params and params != session.value(WRITTEN_KEY)
    if from_link or not session.has(START_KEY):
        view, notices = view_from_params(params, months, village_ids, scope)
        for notice in notices:
            st.toast(notice, icon="⚠️")
            st.sidebar.warning(notice)
        session.put(START_KEY, view.start)
        session.put(END_KEY, view.end)
        session.put(VILLAGE_KEY, view.village_id or ALL_VILLAGES)

    # Two month pickers rather than a range slider: Streamlit's AppTest loses a range
    # select_slider's session state on rerun, and pickers are easier on a phone too.
    options = list(months) or [session.value(START_KEY)]
    named = periods(months, today_local())
    with st.sidebar:
        st.markdown("**筛选**")
        period_picker(named)
        left, right = st.columns(2)
        start = left.selectbox("起始月份", options, key=START_KEY, format_func=month_label)
        end = right.selectbox("截止月份", options, key=END_KEY, format_func=month_label)
        if scope is not None and session.value(VILLAGE_KEY) != scope:
            session.put(VILLAGE_KEY, scope)  # e.g. state left by another user
        village = st.selectbox(
            "村居",
            options=[scope] if scope is not None else [ALL_VILLAGES, *village_ids],
            disabled=scope is not None,
            key=VILLAGE_KEY,
            format_func=lambda v: "全镇" if v == ALL_VILLAGES else names.get(v, v),
        )
        if start > end:
            st.warning("起始月份晚于截止月份，已按两者互换显示。")
            start, end = end, start
    view = View(start, end, village or None)
    set_view(view)
    return view


def period_picker(named: dict[str, tuple[date, date]]) -> None:
    """期间: a named period sets both month pickers; the picker shows the name of the
    range the pickers hold (自定义 when none matches)."""
    current = (session.value(START_KEY), session.value(END_KEY))
    session.put(PERIOD_KEY, next((n for n, span in named.items() if span == current), CUSTOM))

    def apply() -> None:
        span = named.get(session.value(PERIOD_KEY))
        if span is not None:
            session.put(START_KEY, span[0])
            session.put(END_KEY, span[1])

    st.selectbox(
        "期间",
        [*named, CUSTOM],
        key=PERIOD_KEY,
        on_change=apply,
        format_func=lambda n: period_label(n, named.get(n)),
        help="本月为最近一个已结束且有数据的月份；上半年、下半年为指数和考核的评价周期。",
    )


def set_view(view: View) -> None:
    """Make ``view`` current and mirror it in the URL, keeping page-specific parameters."""
    params = to_params(view)
    session.put(WRITTEN_KEY, params)
    own = (PARAM_FROM, PARAM_TO, PARAM_VILLAGE)
    merged = {k: v for k, v in st.query_params.to_dict().items() if k not in own} | params
    if st.query_params.to_dict() != merged:
        st.query_params.from_dict(merged)


def drill_to(page_path: str, view: View) -> None:
    """Switch to the page at ``page_path`` showing ``view`` (a drill-down); the query
    string carries the view."""
    st.switch_page(page_path, query_params=to_params(view))


def drill_to_village(view: View, village_id: str) -> None:
    """Open 村居详情 for ``village_id`` over the view's months (a sub-grid opens
    子网格详情 instead: ``ui.subgrid_link``)."""
    drill_to(page_path("village"), View(view.start, view.end, village_id))
