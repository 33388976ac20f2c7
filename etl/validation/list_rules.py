"""The rules of the four lists' records (docs/loading.md): a 重要事项决策's stages in
the order of the 程序清单, a 结对's two sides, and a 履职评价 only for a duty the
责任清单 marks 需人工评价, on a person who holds its role."""

from __future__ import annotations

import itertools

import polars as pl

from etl.validation.findings import Rule
from etl.validation.references import Context
from store.contracts import MEMBER_PAIR_TYPES, UNIT_PAIR_TYPES, Kind
from store.duty_catalogue import read_catalogue

# The stages of a 重要事项决策 after its proposal, each needing the one before:
# 提议 → 党员议事会商议 → 两委会决议或党员大会表决 → 结果公示. The 镇领导督导 may come at
# any point up to the decision.
DECISION_CHAIN = (
    ("proposed_on", "提议日期"),
    ("deliberated_on", "商议日期"),
    ("resolved_on", "决议日期"),
    ("published_on", "公示日期"),
)


def list_rules(kind: Kind, present: set[str], ctx: Context) -> list[Rule]:
    """Cross-column rules of the decision, pairing and 履职评价 records."""
    if kind.name == "decision":
        return decision_rules()
    if kind.name == "pairing":
        return pairing_rules()
    if kind.name == "duty_rating" and {"duty_id", "person_id"} <= present:
        return rating_rules(ctx)
    return []


def decision_rules() -> list[Rule]:
    """Stages in order, none without the one before; a decision names how it was made."""
    rules = []
    for (before, before_header), (after, after_header) in itertools.pairwise(DECISION_CHAIN):
        earlier, later = pl.col(before), pl.col(after)
        rules.append(
            Rule(
                after,
                later.is_not_null() & earlier.is_null(),
                f"有{after_header}但没有{before_header}",
            )
        )
        rules.append(
            Rule(
                after,
                later < earlier,
                pl.format(f"{after_header}早于{before_header}（{{}}）", earlier.cast(pl.String)),
            )
        )
    supervised, resolved = pl.col("supervised_on"), pl.col("resolved_on")
    rules += [
        Rule(
            "supervised_on",
            supervised > resolved,
            pl.format(
                "督导日期晚于决议日期（{}）：镇领导督导应在决议之前", resolved.cast(pl.String)
            ),
        ),
        Rule(
            "resolution",
            resolved.is_not_null() & pl.col("resolution").is_null(),
            "有决议日期，应填写决议方式（两委会决议或党员大会表决）",
        ),
        Rule(
            "resolution",
            pl.col("resolution").is_not_null() & resolved.is_null(),
            "填写了决议方式，但没有决议日期",
        ),
    ]
    return rules


def pairing_rules() -> list[Rule]:
    """A member pair names its 帮带人, a unit programme its 结对单位; dates in order."""
    pair_type = pl.col("pair_type")
    return [
        Rule(
            "mentor_id",
            pair_type.is_in(list(MEMBER_PAIR_TYPES)) & pl.col("mentor_id").is_null(),
            f"{'、'.join(MEMBER_PAIR_TYPES)}应填写帮带人编号",
        ),
        Rule(
            "partner_unit",
            pair_type.is_in(list(UNIT_PAIR_TYPES)) & pl.col("partner_unit").is_null(),
            f"{'、'.join(UNIT_PAIR_TYPES)}应填写结对单位",
        ),
        Rule(
            "member_id",
            pl.col("member_id") == pl.col("mentor_id"),
            "帮带人与结对对象不能是同一人",
        ),
        Rule("active_to", pl.col("active_to") < pl.col("active_from"), "终止日期早于起始日期"),
    ]


def rating_rules(ctx: Context) -> list[Rule]:
    """Only 需人工评价 duties are rated, each on a person who holds the duty's role."""
    catalogue = read_catalogue()
    manual = catalogue.manual_ids
    duty_role = {d.id: d.role for d in catalogue.duties}
    duty = pl.col("duty_id")
    listed = "、".join(manual) or "无"
    rules = [
        Rule(
            "duty_id",
            duty.is_not_null() & ~duty.is_in(list(duty_role)),
            "职责编号不在责任清单（duties.toml）中",
        ),
        Rule(
            "duty_id",
            duty.is_in([d for d in duty_role if d not in manual]),
            pl.format(
                f"职责 {{}} 由数据自动统计，无需人工评价（需人工评价的职责：{listed}）", duty
            ),
        ),
    ]
    if ctx.person_roles is not None:
        roles = dict(zip(ctx.person_roles["person_id"], ctx.person_roles["role"], strict=True))
        person_role = pl.col("person_id").replace_strict(
            roles, default=None, return_dtype=pl.String
        )
        expected = duty.replace_strict(duty_role, default=None, return_dtype=pl.String)
        rules.append(
            Rule(
                "person_id",
                person_role.is_not_null() & expected.is_not_null() & (person_role != expected),
                pl.format("该人员的网格角色是{}，职责 {} 属于{}", person_role, duty, expected),
            )
        )
    return rules
