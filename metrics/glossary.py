"""The glossary: one Chinese name, unit, precision and explanation per metric column.

Every table, chart axis, hover, export header, card and method note of the product
takes its label and its number format from here, so that a metric is called the same
and shown the same way wherever it appears (see docs/metrics.md for the definitions
and docs/pages.md for where each one is shown). Keys are the column names the metrics
layer returns; a column whose name means different things in different frames (the
``coverage`` of activities and of study) is mapped to its entry by the caller.

Values are stored as computed: rates as fractions, durations in hours. An entry's
``kind`` says how it is shown: ``rate`` in percent, ``days`` in days (from hours),
``count`` as a whole number, ``score``/``hours``/``number`` rounded to ``decimals``,
``rank`` as a whole number, ``flag`` as one of two words, ``month``/``time``/``date``
as text, ``text`` as it is. No Streamlit here: the CLI and the exports use it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from metrics.glossary_lists import LIST_FIELD_KINDS, LIST_FIELDS, LIST_METRICS

KINDS = ("rate", "count", "score", "number", "rank", "hours", "days", "flag", "text")
TIME_KINDS = ("month", "time", "date")
# Kinds whose header shows no unit: a score's 分 and a rank's 名 go without saying.
BARE_HEADER_KINDS = ("score", "rank", "flag", "text", *TIME_KINDS)
MISSING = "—"
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Metric:
    """One column as the product shows it."""

    key: str
    label: str
    unit: str
    decimals: int
    kind: str
    help: str
    higher_is_better: bool | None
    header_text: str | None = None  # the table header when it is not label（unit）
    flag_words: tuple[str, str] = ("是", "否")

    @property
    def header(self) -> str:
        """The column header: '学习覆盖率（%）', '期末积压（件）', '平均堡垒指数'."""
        if self.header_text:
            return self.header_text
        if self.unit and self.kind not in BARE_HEADER_KINDS:
            return f"{self.label}（{self.unit}）"
        return self.label

    @property
    def card_label(self) -> str:
        """The label of a card: the unit only where the value text does not carry it."""
        return self.header if self.kind in ("count", "days") else self.label


def _m(key, label, unit, decimals, kind, higher, help, header=None, words=("是", "否")):
    """One metric: ``higher`` is whether more is better (None: neither)."""
    return Metric(key, label, unit, decimals, kind, help, higher, header, words)


_ENTRIES = (
    # 制度落实 (docs/metrics.md, 制度落实)
    _m("compliant_share", "制度落实率", "%", 1, "rate", True,
       "全部制度要求均已达到的子网格占比（有一项未达到，该子网格当月即不计）；多月取各月的平均值。"),
    _m("activity_coverage", "制度达标项占比", "%", 1, "rate", True,
       "已达项 ÷ 应达项：应达到的各项制度要求中已达到的比例；多月取各月的平均值。"),
    _m("due", "应达项", "项", 0, "count", None,
       "各子网格各月应达到的制度要求项数之和（村居另加村居层面要求）。", header="应达项"),
    _m("met", "已达项", "项", 0, "count", True,
       "应达项中已由当月活动满足的项数。", header="已达项"),
    _m("subgrid_months", "子网格·月", "个", 0, "count", None,
       "计入统计的子网格月份数。", header="子网格·月"),
    _m("compliant", "全达标子网格·月", "个", 0, "count", True,
       "全部制度要求均已达到的子网格月份数。", header="全达标子网格·月"),
    _m("months", "数据月数", "月", 0, "count", None,
       "所选期间内有数据的月份数。", header="数据月数"),
    _m("min_count", "应开展", "次", 0, "count", None,
       "制度清单要求当月至少开展的次数。"),
    _m("held", "已开展", "次", 0, "count", True,
       "当月实际开展的次数。"),
    _m("months_met", "是否达标（1=是）", "", 0, "count", True,
       "当月该项要求已达到记 1，否则记 0。"),
    # 学习教育 (docs/metrics.md, 学习覆盖率)
    _m("study_coverage", "学习覆盖率", "%", 1, "rate", True,
       "参加过学习教育（出席）的在册党员人数 ÷ 在册党员人数；多月取各月的平均值。"),
    _m("home_share", "送学上门占比", "%", 1, "rate", None,
       "以送学上门方式参学的人数 ÷ 已覆盖人数。"),
    _m("home_coverage", "送学上门覆盖率", "%", 1, "rate", None,
       "以送学上门方式参学的在册党员人数 ÷ 在册党员人数；多月取各月的平均值。"),
    _m("members", "在册党员", "人", 0, "count", None,
       "所选期间内在册的党员人数。"),
    _m("member_months", "在册党员", "人·月", 0, "count", None,
       "各月在册党员人数之和（人·月）。"),
    _m("reached", "已覆盖", "人·月", 0, "count", True,
       "各月参加过学习教育的在册党员人数之和。"),
    _m("reached_people", "已覆盖", "人", 0, "count", True,
       "当月参加过学习教育的在册党员人数。"),
    _m("reached_home", "送学上门", "人·月", 0, "count", None,
       "各月以送学上门方式参学的党员人数之和。"),
    _m("reached_home_people", "送学上门", "人", 0, "count", None,
       "当月以送学上门方式参学的党员人数。"),
    _m("months_not_reached", "连续未参学", "月", 0, "count", False,
       "截至期末连续在册且未参加学习教育的月数。"),
    _m("not_reached_members", "连续未参学", "人", 0, "count", False,
       "列入跟进名单（连续未参学）的党员人数。"),
    # 民情处置 (docs/metrics.md, 响应时效)
    _m("reports", "收集民情民意", "件", 0, "count", None,
       "上报时间在所选期间内的民情民意事项件数。"),
    _m("report_count", "事项", "件", 0, "count", None,
       "该分组中的民情民意事项件数。"),
    _m("accepted", "受理", "件", 0, "count", None,
       "本期上报且已受理的事项件数。"),
    _m("resolved", "办结", "件", 0, "count", True,
       "本期上报且已办结的事项件数。"),
    _m("refused", "不予受理", "件", 0, "count", None,
       "本期上报且不予受理的事项件数。"),
    _m("accept_median_h", "受理时长中位数", "小时", 1, "hours", False,
       "受理时间 − 上报时间的中位数。"),
    _m("accept_p90_h", "受理时长90%分位", "小时", 1, "hours", False,
       "九成事项在此时长内受理（受理时长的 90% 分位数）。"),
    _m("resolve_median_h", "办结时长中位数", "小时", 1, "hours", False,
       "办结时间 − 上报时间的中位数。"),
    _m("resolve_p90_h", "办结时长90%分位", "小时", 1, "hours", False,
       "九成事项在此时长内办结（办结时长的 90% 分位数）。"),
    _m("accept_h", "受理时长", "小时", 1, "hours", False,
       "该事项受理时间 − 上报时间。"),
    _m("resolve_h", "办结时长", "小时", 1, "hours", False,
       "该事项办结时间 − 上报时间。"),
    _m("on_time_accept_rate", "按时受理率", "%", 1, "rate", True,
       "在受理时限内受理的事项 ÷ 已有结论的事项；多月取各月的平均值。"),
    _m("on_time_resolve_rate", "按期办结率", "%", 1, "rate", True,
       "在类别时限内办结的事项 ÷ 已有结论的事项；多月取各月的平均值。"),
    _m("satisfaction_mean", "平均满意度（1–5）", "分", 2, "score", True,
       "办结事项满意度评价（1–5 分）的平均值。"),
    _m("report_satisfaction", "满意度", "分", 0, "score", True,
       "群众对该事项办理的评价（1–5 分）。"),
    _m("open_at_end", "期末积压", "件", 0, "count", False,
       "截至期末仍未办结（且未被不予受理）的事项件数。"),
    _m("overdue_at_end", "期末超期未办结", "件", 0, "count", False,
       "期末积压中已超过办结时限的事项件数，即督办清单的件数。"),
    _m("age_h", "已历时", "天", 1, "days", False,
       "截至期末该事项自上报起已经过的时间。"),
    _m("limit_h", "办结时限", "天", 1, "days", None,
       "该事项类别的办结时限。"),
    _m("overdue_h", "超期", "天", 1, "days", False,
       "已历时超出办结时限的部分。"),
    # The same three in hours, for a page whose other durations are in hours (民情处置:
    # one time unit per page).
    _m("age_hours", "已历时", "小时", 0, "hours", False,
       "截至期末该事项自上报起已经过的时间。"),
    _m("limit_hours", "办结时限", "小时", 0, "hours", None,
       "该事项类别的办结时限。"),
    _m("overdue_hours", "超期", "小时", 0, "hours", False,
       "已历时超出办结时限的部分。"),
    _m("on_time_accept", "按时受理", "", 0, "flag", True,
       "该事项是否在时限内受理（空 = 尚无结论）。"),
    _m("on_time_resolve", "按期办结", "", 0, "flag", True,
       "该事项是否在时限内办结（空 = 尚无结论）。"),
    # 两个指数 (docs/metrics.md, 党组织堡垒指数 and 党员先锋指数)
    _m("fortress_index", "平均堡垒指数", "分", 1, "score", True,
       "党组织堡垒指数（满分 100）在所选各月的平均值；村居、全镇按在册党员人·月加权平均。"),
    _m("stars", "星级", "", 0, "text", True,
       "按平均堡垒指数评定的星级。"),
    _m("surveyed", "测评", "", 0, "flag", None,
       "所选期间的每个月是否都有测评覆盖（否则看“测评情况”：部分测评或无测评）。",
       words=("已测评", "无测评")),
    _m("reported", "报送情况", "", 0, "flag", None,
       "所选期间各月的数据是否均已报送；未报送的月份不计入数值，全部未报送则不计数值、不评星、不排名。",
       words=("已报送", "有未报送")),
    _m("vanguard_index", "平均先锋指数", "分", 1, "score", True,
       "单位内党员先锋指数的平均值。"),
    _m("member_vanguard_index", "先锋指数", "分", 1, "score", True,
       "党员个人的先锋指数（满分 100）。"),
    _m("grade", "先锋等级", "", 0, "text", True,
       "按先锋指数评定的等级（优秀 / 合格 / 基本合格 / 不合格）。"),
    _m("attendance_pts", "组织生活出勤得分", "分", 2, "score", True,
       "先锋指数中组织生活出勤部分的得分。"),
    _m("study_pts", "学习得分", "分", 2, "score", True,
       "先锋指数中学习部分的得分。"),
    _m("role_pts", "作用发挥得分", "分", 2, "score", True,
       "先锋指数中作用发挥部分的得分（上报民情、志愿服务、接待日与巡查轮值，按满分折算）。"),
    _m("survey_pts", "测评得分", "分", 2, "score", True,
       "指数中测评部分的得分：各测评类型按权重加权，只按测评覆盖的月份计分。"),
    _m("contribution_points", "作用发挥积分", "分", 1, "number", True,
       "所选期间本人上报民情、参加志愿服务、接待日与巡查的积分（满分按在册月数折算）。"),
    _m("survey_status", "测评情况", "", 0, "text", None,
       "已测评：测评覆盖所选期间的每个月；部分测评：只覆盖部分月份；无测评：没有覆盖。"),
    _m("survey_share", "测评覆盖月份占比", "%", 1, "rate", None,
       "所选期间（在册）月份中有测评覆盖的比例，测评部分按此比例计分。"),
    _m("months_on_roll", "在册月数", "月", 0, "count", None,
       "所选期间内该党员在册的月数。", header="在册月数"),
    # 考核 (docs/metrics.md, 考核清单)
    _m("total", "考核总分", "分", 2, "score", True,
       "四个方面得分之和减去反向扣分，最低为 0。"),
    _m("deductions", "反向扣分", "分", 2, "score", False,
       "所选期间记录的反向扣分之和。"),
    _m("rank", "考核排名", "名", 0, "rank", False,
       "同级单位按考核总分的名次，并列者名次相同。"),
    _m("previous_rank", "上期排名", "名", 0, "rank", False,
       "紧邻的等长期间的考核排名。"),
    _m("town_rank", "全镇排名", "名", 0, "rank", False,
       "在全镇同级单位中的考核排名。"),
    _m("rank_change", "排名变化", "", 0, "text", None,
       "与上期相比：↑ 上升，↓ 下降，持平。"),
    _m("area_points", "分值", "分", 0, "score", None,
       "该方面的满分。"),
    _m("weight", "权重", "", 2, "number", None,
       "该指标在方面内的权重。"),
    _m("component_value", "指标值", "%", 1, "rate", True,
       "该指标在所选期间的取值（0–100%）。"),
    _m("area_score", "方面得分", "分", 2, "score", True,
       "分值 × 各指标按权重的平均值。"),
    _m("attendance_rate", "组织生活出勤率", "%", 1, "rate", True,
       "组织生活出勤得分 ÷ 应出勤次数。"),
    _m("volunteer_reach", "志愿服务参与率", "%", 1, "rate", True,
       "参加志愿服务的党员人·月 ÷ 在册党员人·月。"),
    _m("report_collection", "民情收集完成率", "%", 1, "rate", True,
       "收集民情民意件数 ÷ 收集目标，最高 100%。"),
    _m("satisfaction", "满意度得分率", "%", 1, "rate", True,
       "(平均满意度 − 1) ÷ 4：1–5 分折算为 0–100%。"),
    # 网格规模 (总览)
    _m("villages", "村居党建总网格", "个", 0, "count", None,
       "全镇的村居党建总网格数。", header="村居党建总网格"),
    _m("subgrids", "党建子网格", "个", 0, "count", None,
       "党建子网格数。", header="党建子网格"),
    _m("activities", "开展活动", "场", 0, "count", None,
       "开展的组织活动场数。"),
    _m("duration_min", "时长", "分钟", 0, "count", None,
       "活动时长。"),
    _m("roll", "签到人数", "人", 0, "count", None,
       "该活动签到记录的人数。", header="签到人数"),
    _m("present", "出席", "人", 0, "count", None,
       "签到状态为出席的人数。", header="出席"),
    _m("leave", "请假", "人", 0, "count", None,
       "签到状态为请假的人数。", header="请假"),
    _m("absent", "缺席", "人", 0, "count", None,
       "签到状态为缺席的人数。", header="缺席"),
    _m("home", "送学上门", "人", 0, "count", None,
       "以送学上门方式参加的人数。", header="送学上门"),
)  # fmt: skip

# Descriptive columns (ids, names, times): no unit, no better or worse.
# fmt: off
_FIELDS = {
    "unit_id": "编号", "unit_name": "单位", "village_name": "村居", "subgrid_name": "子网格",
    "owning_village": "所属村居", "month": "月份", "category": "事项类别",
    "report_id": "事项编号", "summary": "事项摘要", "reporter_id": "上报人编号",
    "reported_at": "上报时间", "accepted_at": "受理时间", "resolved_at": "办结时间",
    "report_status": "办理状态", "status_at_end": "期末状态", "overdue_reason": "超期原因",
    "stage": "环节", "age_bucket": "已历时长", "measure_label": "时长", "bin_label": "区间",
    "requirement": "要求", "level_label": "层级", "person_id": "人员编号", "name": "姓名",
    "activity_id": "活动编号", "activity_date": "活动日期", "activity_type": "活动类型",
    "topic": "活动主题", "place_id": "活动地点编号", "attendance_status": "出勤状态",
    "activity_place": "活动地点", "mode": "参与方式", "signed_at": "签到时间", "metric": "指标",
    "alert_message": "提示", "area_label": "方面", "alert_level": "预警级别",
    "owner": "责任人", "owner_role": "责任岗位", "rank_reason": "说明",
}
# fmt: on
_FIELD_KINDS = {"month": "month", "activity_date": "date"} | dict.fromkeys(
    ("reported_at", "accepted_at", "resolved_at", "signed_at"), "time"
)
# The four lists' views (责任落实, 程序清单, 阵地与志愿者): metrics/glossary_lists.py.
_ENTRIES += tuple(_m(*e) for e in LIST_METRICS)
_FIELDS |= LIST_FIELDS
_FIELD_KINDS |= LIST_FIELD_KINDS
_ENTRIES += tuple(
    Metric(key, name, "", 0, _FIELD_KINDS.get(key, "text"), "", None)
    for key, name in _FIELDS.items()
)
GLOSSARY: dict[str, Metric] = {m.key: m for m in _ENTRIES}
# Other names the metrics layer gives a metric: the assessment component
# ``home_study_share`` is 送学上门占比; the alert ``overdue_reports`` counts 期末超期未办结.
ALIASES = {
    "home_study_share": "home_share",
    "overdue_reports": "overdue_at_end",
    # The CLI ``vanguard`` names the parts' points by the part (metrics.member_vanguard).
    "attendance": "attendance_pts",
    "study": "study_pts",
    "contribution": "role_pts",
    "survey": "survey_pts",
}


def entry(key: str) -> Metric:
    """The glossary entry of ``key`` (or of the metric it is another name for)."""
    try:
        return GLOSSARY[ALIASES.get(key, key)]
    except KeyError:
        raise KeyError(f"指标“{key}”不在词汇表中（metrics/glossary.py）") from None


def label(key: str) -> str:
    """The one Chinese name of a metric."""
    return entry(key).label


def header(key: str) -> str:
    """The table/export header of a metric, with its unit: '学习覆盖率（%）'."""
    return entry(key).header


def area_header(area_label: str, points: float) -> str:
    """The header of an assessment area's score: '网格日常运行（25分）'."""
    return f"{area_label}（{points:g}分）"


# --- values as text --------------------------------------------------------------------


def is_missing(value) -> bool:
    """None or NaN: shown as '—'."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def number_text(value: float | None, digits: int = 0) -> str:
    """Thousands separators: 1234.5 → '1,234.5' (digits 1); missing → '—'."""
    return MISSING if is_missing(value) else f"{value:,.{digits}f}"


def percent_text(fraction: float | None, digits: int = 1) -> str:
    """0.8532 → '85.3%'; missing → '—'."""
    return MISSING if is_missing(fraction) else f"{fraction * 100:.{digits}f}%"


def points_change_text(delta: float | None) -> str | None:
    """A change of a fraction, in percentage points: 0.021 → '+2.1个百分点'."""
    return None if is_missing(delta) else f"{delta * 100:+.1f}个百分点"


def duration_text(hours: float | None) -> str:
    """Durations: under 48 hours in 小时, longer in 天 (one decimal)."""
    if is_missing(hours):
        return MISSING
    return f"{hours:.1f} 小时" if hours < 48 else f"{hours / 24:.1f} 天"


def hours_text(hours: float | None) -> str:
    """A duration always in hours, for a page that keeps one time unit: '66.7 小时'."""
    return MISSING if is_missing(hours) else f"{hours:,.1f} 小时"


def shown_value(key: str, value):
    """The value as a table shows and exports it: rates in percent, durations of kind
    ``days`` in days, rounded to the entry's decimals; missing stays None."""
    m = entry(key)
    if is_missing(value):
        return None
    if m.kind == "rate":
        return round(value * 100, m.decimals)
    if m.kind == "days":
        return round(value / 24, m.decimals)
    if m.kind in ("count", "rank"):
        return int(value)
    if m.kind in ("score", "number", "hours"):
        return round(value, m.decimals) if m.decimals else round(value)
    if m.kind == "flag":
        return m.flag_words[0] if value else m.flag_words[1]
    return value


def value_text(key: str, value) -> str:
    """The value as a card shows it (the unit, where the text lacks it, is in the
    card's label): '85.3%', '1,234', '78.4', '5.3 小时'; missing → '—'."""
    m = entry(key)
    if is_missing(value):
        return MISSING
    if m.kind == "rate":
        return percent_text(value, m.decimals)
    if m.kind == "hours":
        return duration_text(value)
    if m.kind in ("count", "rank", "score", "number", "days"):
        return number_text(shown_value(key, value), m.decimals if m.kind != "rank" else 0)
    return str(shown_value(key, value))


def value_with_unit(key: str, value) -> str:
    """The value with its unit, for hovers and tooltips: '12 件', '78.4 分', '85.3%'."""
    m = entry(key)
    text = value_text(key, value)
    if text == MISSING or m.kind in ("rate", "hours", "text", "flag") or not m.unit:
        return text
    return f"{text} {m.unit}"


FLAT = "持平"


def is_flat(key: str, change: float | None) -> bool:
    """Whether a change rounds to zero as shown (no arrow, no colour: 持平)."""
    if is_missing(change):
        return False
    m = entry(key)
    shown = change * 100 if m.kind == "rate" else change
    decimals = 1 if m.kind == "rate" else m.decimals
    return round(abs(shown), decimals) == 0


def change_text(key: str, change: float | None) -> str | None:
    """A change as a card's delta: '+2.1个百分点' for rates, '+1.2分', '+3件', '持平'
    when it rounds to zero; None if there is nothing to compare with."""
    m = entry(key)
    if is_missing(change):
        return None
    if is_flat(key, change):
        return FLAT
    if m.kind == "rate":
        return points_change_text(change)
    return f"{change:+.{m.decimals}f}{m.unit}"


def hover_format(key: str) -> str:
    """The d3 format of a value in a Plotly hover: '.1%' for rates, '.1f' else."""
    m = entry(key)
    return f".{m.decimals}%" if m.kind == "rate" else f".{m.decimals}f"


def column(source: str, key: str | None = None, title: str | None = None) -> pl.Expr:
    """The Polars expression of column ``source`` as shown under glossary ``key``
    (default: the same name), aliased to its header (or ``title``, for a header the
    configuration names, such as an assessment area's) — the table's and the export's
    column. Rates become percent, ``days`` days, times text; decimals as the entry says.
    """
    m = entry(key or source)
    col = pl.col(source)
    if m.kind == "rate":
        shown = (col.cast(pl.Float64) * 100).round(m.decimals)
    elif m.kind == "days":
        shown = (col.cast(pl.Float64) / 24).round(m.decimals)
    elif m.kind in ("count", "rank"):
        shown = col.cast(pl.Int64)
    elif m.kind in ("score", "number", "hours"):
        shown = col.cast(pl.Float64).round(m.decimals)
        shown = shown if m.decimals else shown.cast(pl.Int64)  # 25, not 25.0
    elif m.kind == "flag":
        yes, no = m.flag_words
        shown = pl.when(col).then(pl.lit(yes)).when(~col).then(pl.lit(no))
    elif m.kind == "month":
        shown = col.dt.year().cast(pl.String) + "年" + col.dt.month().cast(pl.String) + "月"
    elif m.kind == "time":
        shown = col.dt.strftime(TIME_FORMAT)
    elif m.kind == "date":
        shown = col.cast(pl.String)
    else:
        shown = col
    return shown.alias(title or m.header)


def _check() -> None:
    for m in _ENTRIES:
        assert m.kind in KINDS + TIME_KINDS, m
    assert len(GLOSSARY) == len(_ENTRIES), "a key is listed twice"


_check()
