"""督办: the follow-up items — who must do what by when, and whether it was done (see
docs/pages.md, 督办, and docs/supervision.md).

The items of the sidebar's village (all villages: the whole town), filtered by status
and source; pick one to see its history and, by role, close, extend or reassign it
(镇办人员) or write the village's feedback (its 村居书记). 镇办人员 also open items by
hand (交办). The sweep (``python -m supervise sweep``) opens the others.
"""

from __future__ import annotations

from supervise.config import load_config
from supervise.tables import SOURCES
from ui import session
from ui.navigation import require_page
from ui.supervision import (
    item_detail,
    item_filters,
    item_list,
    pick_item,
    status_cards,
    take_notice,
)
from ui.supervision_forms import item_actions, manual_item_form
from ui.widgets import method_note, page_header


def method() -> str:
    """How items are opened, their deadlines (from the configuration in force, in
    words: a reader needs the days, not the file that holds them) and owners."""
    days = load_config().deadline_days
    deadlines = "、".join(f"{SOURCES[source]} {n} 天" for source, n in days.items())
    return (
        "**来源**：系统定时扫描最近一个月的数据，为期末超期民情事项（每件一项）、红色预警（每条一项）、"
        "有党员连续未参学的子网格（每个子网格一项）和未报送的数据（每个村居每类一项）立项；"
        "同一事项已在办时不重复立项。镇办人员也可手工交办。\n\n"
        f"**期限**：截止日期 = 立项日 + 该来源的办理天数（{deadlines}）。"
        "过了截止日期仍未反馈的事项转为“已逾期”；村居反馈后为“已反馈”，由镇办人员办结。\n\n"
        "**责任人**：村居的总网格长或子网格的子网格长（按名册），镇办人员可改派。每次变更都记入办理记录。"
    )


def draw_page() -> None:
    user = require_page("supervision")
    page_header("督办", months=False)
    view = session.current_view()
    take_notice()
    status_cards(view.village_id)
    status, source = item_filters()
    frame = item_list(view, status, source)
    item = pick_item(frame)
    if item is not None:
        item_detail(item)
        item_actions(user, item)
    manual_item_form(user, view.village_id)
    method_note(method())


draw_page()
