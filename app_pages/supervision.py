"""督办: the follow-up items — who must do what by when, and whether it was done (see
docs/pages.md, 督办, and docs/supervision.md).

The items of the sidebar's village (all villages: the whole town), filtered by status
and source; pick one to see its history and, by role, close, extend or reassign it
(镇办人员) or write the village's feedback (its 村居书记). 镇办人员 also open items by
hand (交办). The sweep (``python -m supervise sweep``) opens the others.
"""

from __future__ import annotations

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

METHOD = (
    "**来源**：每次扫描（定时运行 `python -m supervise sweep`）为最近一个月数据中的"
    "期末超期民情事项（每件一项）、红色预警（每条一项）、有党员连续未参学的子网格（每个子网格一项）"
    "和未报送的数据（每个村居每类一项）立项；同一事项已在办时不重复立项。镇办人员也可手工交办。\n\n"
    "**期限**：截止日期 = 立项日 + 该来源的天数（data/config/supervise.toml）。"
    "过了截止日期仍未反馈的事项转为“已逾期”；村居反馈后为“已反馈”，由镇办人员办结。\n\n"
    "**责任人**：村居的总网格长或子网格的子网格长（按名册），镇办人员可改派。每次变更都记入办理记录。"
)


def draw_page() -> None:
    user = require_page("supervision")
    page_header("督办")
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
    method_note(METHOD)


draw_page()
