"""The glossary's entries for the four lists' views (责任落实, 程序清单, 阵地与志愿者):
plain data that :mod:`metrics.glossary` turns into entries, kept apart so that the
glossary stays one readable file. Same fields as ``glossary._m``: key, label, unit,
decimals, kind, whether higher is better, explanation, and optionally the header.
"""

from __future__ import annotations

# fmt: off
LIST_METRICS: tuple[tuple, ...] = (
    # 责任落实 (docs/metrics.md, 责任落实)
    ("fulfilment", "履职率", "%", 1, "rate", True,
     "已履职 ÷ 应履职：责任清单各项职责在所选期间应履职的人·次中已完成的比例。"),
    ("duties_due", "应履职", "人·次", 0, "count", None,
     "所选期间内应履行的职责人·次（每人每项职责每个期间一次；无事可办、待评价的不计）。",
     "应履职（人·次）"),
    ("duties_done", "已履职", "人·次", 0, "count", True,
     "应履职人·次中已完成的部分。", "已履职（人·次）"),
    ("people", "在岗人数", "人", 0, "count", None,
     "期末在册、担任该角色的人数。"),
    ("vacant", "空缺岗位", "个", 0, "count", False,
     "期末应配人数减在岗人数（不少于 0），按责任清单的岗位配备要求计算。"),
    ("needed", "应配", "人", 0, "count", None,
     "按责任清单的岗位配备要求，该单位该角色应配的人数。"),
    ("post_held", "在岗", "人", 0, "count", None,
     "期末在册、担任该角色的人数。"),
    ("unrated", "待评价", "项·次", 0, "count", None,
     "需人工评价的职责尚无履职评价的项·次，不计入应履职。"),
    ("value", "实际完成", "", 0, "count", None,
     "期间内实际完成的次数，或按时办理的件数（占比类职责）。"),
    ("target", "应完成", "", 0, "count", None,
     "期间内要求的次数，或应办理的件数（占比类职责）。"),
    ("level", "层级序号", "", 0, "count", None, "六级网格队伍中的层级，1 为督导员。"),
    # 程序清单 (docs/metrics.md, 程序清单)
    ("items", "件数", "件", 0, "count", None,
     "到达该环节的事项件数（学习教育：人·月或结对数）。", "件数"),
    ("median_days", "用时中位数", "天", 1, "number", False,
     "从上一环节到该环节用时的中位数（办结：从上报起算）。"),
    ("stage_overdue", "超期", "件", 0, "count", False,
     "超过该环节时限完成，或期末已等待超过时限的事项件数。"),
    ("matters", "重要事项", "件", 0, "count", None, "所选期间内提议的党内重要事项件数。"),
    ("supervised", "经督导", "件", 0, "count", True, "经镇领导督导的事项件数。"),
    ("published", "已公示", "件", 0, "count", True, "已公示结果的事项件数。"),
    ("open_matters", "未公示", "件", 0, "count", None, "期末尚未公示结果的事项件数。"),
    ("days_to_publish", "提议至公示", "天", 1, "number", False,
     "已公示事项从提议到公示用时的中位数。"),
    ("days_waiting", "已等待", "天", 0, "count", False, "期末距上一环节的天数。"),
    ("notified", "已下发学习提示的村居", "个", 0, "count", True,
     "当月下发了学习提示的村居数。"),
    ("villages_active", "有活动的村居", "个", 0, "count", None,
     "当月上传了活动台账的村居数。"),
    ("notice_share", "学习提示下发率", "%", 1, "rate", True,
     "已下发学习提示的村居 ÷ 当月有活动的村居。"),
    ("pairs", "结对", "对", 0, "count", None, "当月有效的老新结对、以老带老结对数。"),
    ("pairs_met", "共同参加活动的结对", "对", 0, "count", True,
     "当月帮带人与结对党员共同出席同一活动的结对数。"),
    ("pair_share", "结对活动率", "%", 1, "rate", True, "共同参加活动的结对 ÷ 有效结对。"),
    # 阵地与志愿者 (docs/metrics.md, 阵地与志愿者)
    ("participants", "参与", "人次", 0, "count", None, "在该地点开展的活动中出席的人次。"),
    ("idle_months", "闲置月数", "月", 0, "count", False,
     "村居有活动台账、但该地点开展活动少于要求次数的月数。"),
    ("volunteers", "志愿者", "人", 0, "count", None, "所选期间内在册的网格志愿者人数。"),
    ("active_volunteers", "活跃志愿者", "人", 0, "count", True,
     "所选期间内出席过活动或上报过民情线索的志愿者人数。"),
    ("participations", "参与活动", "人次", 0, "count", None, "志愿者出席活动的人次。"),
    ("volunteer_reports", "上报线索", "件", 0, "count", None, "志愿者上报的民情线索件数。"),
    ("active_share", "志愿者活跃率", "%", 1, "rate", True, "活跃志愿者 ÷ 志愿者。"),
    ("partner_units", "结对单位", "个", 0, "count", None, "该结对项目的结对单位数。"),
    ("paired_villages", "结对村居", "个", 0, "count", None, "该结对项目覆盖的村居数。"),
    ("system_share", "落实率", "%", 1, "rate", True, "已落实的单位·期间 ÷ 应落实的单位·期间。"),
    ("is_overdue", "是否超期", "", 0, "flag", None,
     "超过该环节的时限（见口径说明）。", None, ("超期", "未超期")),
    ("measured", "评价方式", "", 0, "flag", None,
     "数据统计：由台账数据自动判断；需人工评价：由每半年的履职评价上传判断。", None,
     ("数据统计", "需人工评价")),
)

# Descriptive columns (ids, names, dates, words).
LIST_FIELDS: dict[str, str] = {
    "role": "网格角色", "duty_id": "职责编号", "duty_text": "职责", "frequency_label": "频次",
    "signal_text": "完成标准", "period_label": "期间", "duty_status": "履职情况",
    "active_from": "起始日期", "matter_id": "决策事项编号", "subject": "事项名称",
    "stage_on": "环节日期", "procedure": "程序", "escalated_at": "反馈时间",
    "place_name": "阵地名称", "place_kind": "类型", "last_used": "最近一次使用",
    "volunteer_kind": "志愿者类型", "programme": "结对项目", "system_label": "制度",
}
LIST_FIELD_KINDS = {"active_from": "date", "stage_on": "date", "last_used": "date",
                    "escalated_at": "time"}
# fmt: on
