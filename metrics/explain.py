"""How the numbers are computed, in Chinese, built from the configuration.

Each page shows the text of its metric (``explain("fortress")`` …) so that the
explanation always matches the weights and thresholds actually in force. Metrics are
named as :mod:`metrics.glossary` names them (docs/metrics.md has the definitions).
"""

from __future__ import annotations

from metrics.config import COMPONENTS, Config, default_config
from metrics.glossary import label
from metrics.scope import unscoped

TOPICS = ("coverage", "study", "response", "fortress", "vanguard", "assessment")

# The assessment components by their glossary names (every component has an entry).
COMPONENT_LABELS = {component: label(component) for component in COMPONENTS}


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _coverage(c: Config) -> str:
    sub = "、".join(f"{r.label}≥{r.min_count}次" for r in c.coverage.subgrid_requirements)
    vil = "、".join(f"{r.label}≥{r.min_count}次" for r in c.coverage.village_requirements)
    text = (
        f"制度落实：按制度清单，每个子网格每月应开展 {sub}"
        + (f"；每个村居每月应召开 {vil}" if vil else "")
        + "。子网格的“应达项”为子网格要求的项数，“已达项”为该子网格当月自身活动满足的项数；"
        "村居汇总其全部子网格并加上村居层面的要求，全镇汇总各村居。"
        f"{label('activity_coverage')} = 已达项 ÷ 应达项（部分达标也计入）；"
        f"{label('compliant_share')} = 全部要求均已达到的子网格月份占比。"
        "未上传任何活动台账的月份不计入。"
    )
    return text


def _study(c: Config) -> str:
    return (
        f"{label('study_coverage')} = 当月参加过至少一次“学习教育”活动"
        "（出勤状态为出席，任何子网格、任何方式）的"
        "在册党员人数 ÷ 在册党员人数。在册：是党员、属于该单位的子网格、"
        "起始日期不晚于当月最后一天且"
        "终止日期为空或不早于当月第一天。多个月合计时按“人·月”累加。"
        f"{label('home_share')} = 以送学上门方式"
        f"参加学习的人数 ÷ 已覆盖人数。连续 {c.study.not_reached_months} 个月未参加学习的党员列入"
        "跟进名单。"
    )


def _response(c: Config) -> str:
    r = c.response
    limits = "、".join(f"{cat} {_n(h)} 小时" for cat, h in r.resolve_limit_hours)
    return (
        "响应时效按上报时间在所选期间内的事项统计。受理时长 = 受理时间 − 上报时间，办结时长 = "
        "办结时间 − 上报时间（小时）；中位数与90%分位采用线性插值。"
        f"{label('on_time_accept_rate')}：{_n(r.accept_limit_hours)} 小时内受理为按时；"
        f"{label('on_time_resolve_rate')}：在类别时限内办结为按期"
        f"（{limits + '，' if limits else ''}其他类别 {_n(r.default_resolve_limit_hours)} 小时）。"
        "尚未受理（办结）且未超时的事项暂不计入分母，已超时未处理的计为未按时；"
        f"“不予受理”事项不计入{label('on_time_resolve_rate')}。"
        f"{label('open_at_end')} = 截至期末仍未办结、未被不予受理的全部事项；"
        f"{label('overdue_at_end')} = 其中已超过时限的事项，即督办清单，按上报时间从早到晚排列。"
    )


def _raters(raters: tuple[tuple[str, float], ...]) -> str:
    return "、".join(f"{r} {_n(w)}%" for r, w in raters)


def _fortress(c: Config) -> str:
    f = c.fortress
    stars = "，".join(f"≥{_n(t.min)} {t.label}" for t in f.stars[:-1])
    return (
        f"党组织堡垒指数（子网格，满分 100）= 制度落实 {_n(f.coverage)} × "
        f"{label('activity_coverage')} + 学习覆盖 "
        f"{_n(f.study)} × 学习覆盖率 + 民情收集 {_n(f.collection)} × "
        "收集件数 ÷ 目标（超过目标按目标计） + "
        f"按期办结 {_n(f.handling)} × 按期办结率 + 测评 {_n(f.survey)} × 测评得分 ÷ 100，"
        f"减去反向扣分，最低为 0。民情收集目标为每个子网格每月 "
        f"{_n(c.response.target_per_subgrid_month)} 件。"
        f"测评得分按测评类型加权：{_raters(f.survey_raters)}；"
        "某一测评类型缺少得分时不计，其余类型按权重折算。测评按其期间（如2026年上半年）覆盖的月份计入："
        "所选期间的各月都有测评为“已测评”；只有部分月份有测评为“部分测评”，测评部分只按有测评的"
        "月份所占比例计分；都没有为“无测评”，不计测评部分。"
        "不计或少计的分值由其余部分按比例折算为 100 分；其他部分无可计量数据时同样处理。"
        "村居、全镇按在册党员人·月加权平均后再减去本级扣分，"
        "其下全部子网格均已测评才算已测评；"
        f"一个期间的{label('fortress_index')}为各月指数的平均值。"
        f"星级：{stars}，其余 {f.stars[-1].label}。"
    )


def _vanguard(c: Config) -> str:
    v = c.vanguard
    k = v.contribution
    grades = "，".join(f"≥{_n(t.min)} {t.label}" for t in v.grades[:-1])
    return (
        f"党员先锋指数（每名党员，满分 100）= 组织生活出勤 {_n(v.attendance)} × 出勤率 + 学习 "
        f"{_n(v.study)} × 参学月数 ÷ 在册月数 + 作用发挥 {_n(v.role)} × 作用发挥完成度 + 测评 "
        f"{_n(v.survey)} × 测评得分 ÷ 100，减去个人反向扣分，最低为 0。"
        f"出勤率按本人所在子网格的组织生活（{'、'.join(v.org_life_types)}）计算：出席计 "
        f"{_n(v.present_credit)}，请假计 {_n(v.leave_credit)}，缺席或未签到计 0。"
        f"作用发挥：本人上报民情民意每件计 {_n(k.per('report'))} 分、"
        f"参加志愿服务（任何子网格，出席）每次计 {_n(k.per('volunteer'))} 分、"
        "参加本子网格的子网格长接待日每次计 "
        f"{_n(k.per('reception'))} 分、网格长巡查每次计 {_n(k.per('patrol'))} 分；"
        f"每在册半年满 {_n(k.full_marks_per_half_year)} 分即为满分（按在册月数折算），"
        "超出不再加分。"
        f"测评为党员测评得分按测评类型加权（{_raters(v.survey_raters)}），"
        "缺少的类型不计、其余折算；"
        "测评只覆盖部分在册月份时按所占比例计分（部分测评），没有测评时不计该部分（无测评）。"
        "子网格当期未开展组织生活时不计出勤部分；不计或少计的分值由其余部分按比例折算为 100 分。"
        "先锋指数按整个所选期间合并计算（官方评议期为半年），不是各月平均。"
        f"子网格、村居、全镇的{label('vanguard_index')}取其党员的平均值。"
        f"等级（民主评议党员）：{grades}，其余{v.grades[-1].label}。"
    )


def _assessment(c: Config) -> str:
    parts = []
    for a in c.assessment.areas:
        comps = "、".join(f"{COMPONENT_LABELS[k]}（权重 {_n(w)}）" for k, w in a.components)
        parts.append(f"{a.label} {_n(a.points)} 分：{comps}")
    members = "（含本单位党员个人扣分）" if c.assessment.member_deductions else ""
    repeated = "、".join(c.deductions.not_counted)
    return (
        "考核清单按四个方面计分，每方面得分 = 分值 × 各指标加权平均"
        "（指标为 0–1 的比率，无可计量数据"
        "的指标不计，其余按权重折算）："
        + "；".join(parts)
        + f"。{label('total')} = 四方面之和 − {label('deductions')}{members}"
        f"，最低为 0；同级单位按{label('total')}排名（{label('rank')}），并列者名次相同。"
        "全镇的各项得分与总分为各村居的在册党员人·月加权平均（再减去记在全镇本身的扣分），"
        "而不是把各村居的扣分都从一个 100 分中扣除。"
        + (
            f"反向扣分按扣分目录计分；目录中已由指标计分的事项（{repeated}）不再扣分，以免重复扣分。"
            if repeated
            else ""
        )
    )


_BUILDERS = {
    "coverage": _coverage,
    "study": _study,
    "response": _response,
    "fortress": _fortress,
    "vanguard": _vanguard,
    "assessment": _assessment,
}


@unscoped
def explain(topic: str, config: Config | None = None) -> str:
    """The Chinese explanation of how a metric is computed under ``config``.

    ``topic`` is one of :data:`TOPICS`.
    """
    if topic not in _BUILDERS:
        raise ValueError(f"未知的指标：{topic}（可选：{'、'.join(TOPICS)}）")
    return _BUILDERS[topic](config or default_config())
