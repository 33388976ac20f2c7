"""How the four lists' numbers are computed, in Chinese, built from their configuration
files (duties.toml, procedures.toml), for the method notes of 责任落实, 程序清单 and
阵地与志愿者 (docs/metrics.md has the same rules in English)."""

from __future__ import annotations

from metrics.glossary import label
from metrics.procedure_config import ProcedureConfig, procedure_config
from metrics.scope import unscoped
from store.duty_catalogue import DutyCatalogue, read_catalogue
from store.toml_config import number_text as _n


@unscoped
def explain_responsibility(catalogue: DutyCatalogue | None = None) -> str:
    """The method note of 责任落实."""
    catalogue = catalogue or read_catalogue()
    posts = "；".join(
        f"{p.role}每个{'村居' if p.per == 'village' else '子网格'} {p.count} 人"
        + (f"（每 {p.members_per_post} 名党员至少 1 人）" if p.members_per_post else "")
        for p in catalogue.posts
    )
    manual = "、".join(catalogue.manual_ids) or "无"
    return (
        f"责任清单共 {len(catalogue.duties)} 项职责，每项属于一个网格角色，按月、季度或半年履行。"
        "一个期间（月、季、半年）在其最后一个月落在所选范围内时计入，按整个期间内的台账判断"
        "（季度在季末、半年在 6 月和 12 月判断）。"
        "某人整个期间都在册且担任该角色，才对该期间负责。\n\n"
        "计数类职责（组织、参加活动，上报线索，下发学习提示）达到要求次数即为已完成；"
        "占比类职责（受理、反馈、例会讨论、督导、公示、结对）按本单位当期应办事项中按要求办理的"
        "比例判断，当期没有事项则为“本期无需”，不计入应履职。"
        f"需人工评价的职责（{manual}）按每半年上传的履职评价判断，尚无评价的为“待评价”，也不计入。\n\n"
        f"{label('fulfilment')} = 已履职 ÷ 应履职（人·次）。在岗人数与{label('vacant')}按所选范围"
        f"最后一天的名册计算，岗位配备要求为：{posts}。"
        "有子网格的角色（含普通党员）未填子网格编号的，列为“未分配子网格”。"
    )


@unscoped
def explain_procedures(config: ProcedureConfig | None = None) -> str:
    """The method note of 程序清单."""
    c = config or procedure_config()
    d, g = c.decision, c.governance
    levels = "、".join(f"{lv} {_n(h)} 小时" for lv, h in g.resolve_within_hours)
    return (
        "党内重要事项决策：统计所选范围内提议的事项，各环节按期末状态计（期末之后的日期视为尚未到达）。"
        f"商议应在提议后 {_n(d.deliberate_within_days)} 天内、决议应在商议后 "
        f"{_n(d.resolve_within_days)} 天内、公示应在决议后 {_n(d.publish_within_days)} 天内完成；"
        "超期 = 超过时限完成，或期末已等待超过时限。"
        "未经镇领导督导即决议的事项计为督导环节超期。\n\n"
        "乡村治理：统计所选范围内上报的民情事项。"
        f"子网格长应在上报后 {_n(g.accept_within_hours)} 小时内受理；需上级解决的事项应在核实后 "
        f"{_n(g.forward_within_hours)} 小时内反馈总网格长，并在反馈后 {_n(g.discuss_within_days)} "
        f"天内提交网格工作例会讨论（以事项的例会编号为准）；办结时限按办理层级：{levels}。"
        "用时中位数为相邻环节之间（办结为从上报起）的天数。\n\n"
        "学习教育：学习提示下发率 = 下发了学习提示的村居 ÷ 当月有活动台账的村居；"
        "送学上门占比与学习教育页面一致；"
        "结对活动率 = 帮带人与结对党员共同出席同一活动的结对 ÷ 有效结对。\n\n"
        "制度清单（按季、半年）：党员议事会每个子网格每季度至少召开一次；子网格考评每半年一次，"
        "以该子网格该半年的堡垒指数上级考评为准。一个期间在其最后一个月落在所选范围内时计入。"
        "“双例会”目前无法从台账判断（活动台账只记录村居网格工作例会），未列入。"
    )


@unscoped
def explain_places(config: ProcedureConfig | None = None) -> str:
    """The method note of 阵地与志愿者."""
    c = config or procedure_config()
    return (
        "阵地：活动按活动地点编号计入党群服务站或服务点，参与人次为这些活动中出席的签到人次。"
        f"某月村居上传了活动台账、但该地点开展活动少于 {c.min_activities_per_month} 次，"
        "该地点当月计为闲置；村居当月未上传台账的月份不计。\n\n"
        "志愿者：所选范围内任一时间在册的网格志愿者；参与活动 = 出席签到的人次；"
        "出席过活动或上报过民情线索的为活跃志愿者。结对项目按结对名册中所选范围内有效的结对单位党员统计。"
    )
