"""Row rules: required values, types, enumerations, ranges, dates and cross-column rules.

Every check is a :class:`etl.validation.findings.Rule`. All rules of a table are
evaluated in one ``select`` (no Python loop over rows); only the rules that hit are
turned into report rows, quoting the value and the header as written in the file.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from etl.normalize import clean
from etl.raw_table import ROW
from etl.validation.duplicates import duplicate_rule_rows
from etl.validation.findings import Rule
from etl.validation.lifecycle_rules import REPORT_STEPS, lifecycle_rules
from etl.validation.list_rules import list_rules
from etl.validation.references import Context, reference_rules
from etl.validation.template_rows import example_rows
from etl.validation.typed_table import Part
from store.contracts import ENUMS, Kind

TEXT = "__text"  # suffix of the as-written text columns kept for reports
EARLIEST_EVENT = date(2000, 1, 1)
EARLIEST_PERSON_DATE = date(1940, 1, 1)


# Event dates: no future, nothing before 2000 (a year typed as 0026, a time-only cell).
EVENT_COLUMNS = {
    "activity": ("activity_date",),
    "attendance": ("signed_at",),
    "report": REPORT_STEPS,
    "deduction": ("deduction_date",),
    "decision": ("supervised_on", "proposed_on", "deliberated_on", "resolved_on", "published_on"),
    "study_notice": ("issued_on",),
}

# (min, max, reason) per numeric column.
RANGES: dict[tuple[str, str], tuple[float, float, str]] = {
    ("activity", "duration_min"): (1, 1440, "时长应在 1–1440 分钟之间"),
    ("report", "satisfaction"): (1, 5, "满意度应为 1–5 的整数"),
    ("evaluation", "score"): (0, 100, "得分应在 0–100 之间"),
    ("deduction", "points"): (0.01, 100, "扣分应大于 0 且不超过 100"),
    ("village", "lon"): (-180, 180, "经度应在 -180–180 之间"),
    ("village", "lat"): (-90, 90, "纬度应在 -90–90 之间"),
    ("subgrid", "lon"): (-180, 180, "经度应在 -180–180 之间"),
    ("subgrid", "lat"): (-90, 90, "纬度应在 -90–90 之间"),
    ("service_point", "lon"): (-180, 180, "经度应在 -180–180 之间"),
    ("service_point", "lat"): (-90, 90, "纬度应在 -90–90 之间"),
}

TYPE_REASONS = {
    "date": "无法识别的日期，应为 2026-10-05、2026/10/5 或 2026年10月5日",
    "timestamp": "无法识别的时间，应为 2026-10-05 14:30 或 2026-10-05 14:30:00",
    "int": "应为整数",
    "float": "应为数字",
    "bool": "应为 是 或 否",
}


def _text(name: str) -> pl.Expr:
    """The column of ``name``'s text as written (kept beside the typed column)."""
    return pl.col(name + TEXT)


def column_rules(
    kind: Kind,
    present: set[str],
    ctx: Context,
    clean: frozenset[str] = frozenset(),
    gaps: set[str] | None = None,
) -> list[Rule]:
    """Required values, types, enumerations, ranges and dates, from the contracts.

    ``clean`` columns were read completely by the fast path: no type/enumeration rules.
    ``gaps`` (when given) names the columns with at least one empty cell: the
    required-value rule of the others cannot fire (a null count costs nothing).
    """
    rules: list[Rule] = []
    tomorrow = datetime.combine(ctx.today + timedelta(days=1), datetime.min.time())
    for c in kind.columns:
        if c.name not in present:
            continue
        col, text = pl.col(c.name), _text(c.name)
        if c.required and (gaps is None or c.name in gaps):
            rules.append(Rule(c.name, text.is_null(), "必填项为空"))
        if c.name in clean:
            pass
        elif c.name == "period":  # a half-year: 测评期间, 评价期间
            rules.append(
                Rule(
                    c.name,
                    text.is_not_null() & col.is_null(),
                    f"{c.header}应写作 2026H1、2026H2 或 2026年上半年",
                )
            )
        elif c.dtype == "timestamp":
            bare_date = text.str.contains(r"^\S+$") & ~text.str.contains(r"^\d{5}\.\d+$")
            rules.append(
                Rule(
                    c.name,
                    text.is_not_null() & col.is_null(),
                    pl.when(bare_date)
                    .then(pl.lit("只有日期，缺少时刻（应为 2026-10-05 14:30）"))
                    .otherwise(pl.lit(TYPE_REASONS["timestamp"])),
                )
            )
        elif c.dtype != "text":
            rules.append(Rule(c.name, text.is_not_null() & col.is_null(), TYPE_REASONS[c.dtype]))
        allowed = ENUMS.get((kind.name, c.name))
        if allowed is not None and c.name not in clean:
            rules.append(
                Rule(
                    c.name,
                    col.is_not_null() & ~col.is_in(pl.Series(allowed).implode()),
                    "不在可选值之内：" + "、".join(allowed),
                )
            )
        bounds = RANGES.get((kind.name, c.name))
        if bounds is not None:
            lo, hi, reason = bounds
            rules.append(Rule(c.name, (col < lo) | (col > hi), reason))
        if c.name in EVENT_COLUMNS.get(kind.name, ()):
            if c.dtype == "date":
                rules.append(Rule(c.name, col > ctx.today, f"日期晚于今天（{ctx.today}）"))
            else:
                rules.append(Rule(c.name, col >= tomorrow, f"时间晚于今天（{ctx.today}）"))
            rules.append(Rule(c.name, col < EARLIEST_EVENT, "日期早于 2000 年，请检查"))
        elif c.dtype == "date":
            rules.append(Rule(c.name, col < EARLIEST_PERSON_DATE, "日期早于 1940 年，请检查"))
    return rules


def _village_of_subgrid(ctx: Context) -> pl.Expr:
    mapping = dict(
        zip(ctx.subgrid_village["subgrid_id"], ctx.subgrid_village["village_id"], strict=True)
    )
    return pl.col("subgrid_id").replace_strict(mapping, default=None, return_dtype=pl.String)


def kind_rules(kind: Kind, present: set[str], ctx: Context) -> list[Rule]:
    """Cross-column rules of one kind."""
    rules: list[Rule] = []
    has = present.__contains__
    if kind.name in ("activity", "person") and has("subgrid_id") and has("village_id"):
        owner = _village_of_subgrid(ctx)
        rules.append(
            Rule(
                "subgrid_id",
                owner.is_not_null()
                & pl.col("village_id").is_not_null()
                & (owner != pl.col("village_id")),
                pl.format(
                    "子网格 {} 属于村居 {}，与村居编号 {} 不符",
                    pl.col("subgrid_id"),
                    owner,
                    pl.col("village_id"),
                ),
            )
        )
    if kind.name == "person":
        if has("active_to") and has("active_from"):
            rules.append(
                Rule(
                    "active_to", pl.col("active_to") < pl.col("active_from"), "终止日期早于起始日期"
                )
            )
        if has("birth_year"):
            rules.append(
                Rule(
                    "birth_year",
                    (pl.col("birth_year") < 1900) | (pl.col("birth_year") > ctx.today.year),
                    f"出生年份应在 1900–{ctx.today.year} 之间",
                )
            )
    if kind.name == "report":
        rules += lifecycle_rules()
    if kind.name == "evaluation" and has("unit_id") and has("index_name"):
        unit, index = pl.col("unit_id"), pl.col("index_name")
        units = pl.concat([ctx.ids["subgrid"], ctx.ids["village"]]).implode()
        rules.append(
            Rule(
                "unit_id",
                (index == "堡垒指数") & unit.is_in(ctx.ids["person"].implode()),
                "堡垒指数的对象应为子网格或村居编号，不是人员编号",
            )
        )
        rules.append(
            Rule(
                "unit_id",
                (index == "先锋指数") & unit.is_in(units),
                "先锋指数的对象应为人员编号，不是子网格或村居编号",
            )
        )
    if has("period"):
        start = pl.date(
            pl.col("period").str.slice(0, 4).cast(pl.Int32, strict=False),
            pl.when(pl.col("period").str.ends_with("1")).then(1).otherwise(7),
            1,
        )
        header = kind.column("period").header
        rules.append(Rule("period", start > ctx.today, f"{header}尚未开始（今天是 {ctx.today}）"))
    return rules + list_rules(kind, present, ctx)


def check_part(part: Part, ctx: Context) -> pl.DataFrame:
    """Every row-level error of one table, as a report frame."""
    kind = part.kind
    frame = part.text
    present = {c for c in frame.columns if c != ROW}
    gaps = {c for c in present if frame[c].null_count()}
    rules = column_rules(kind, present, ctx, part.clean, gaps) + reference_rules(part, ctx)
    rules += kind_rules(kind, present, ctx)
    texts = frame.select([pl.col(c).alias(c + TEXT) for c in present])
    work = pl.concat([part.typed, texts], how="horizontal")
    # One parallel pass counts the hits of every rule; only rules that hit are
    # evaluated again, to build their report rows.
    masks = [r.mask.fill_null(False) for r in rules]
    counts = (
        work.select(m.sum().alias(f"r{i}") for i, m in enumerate(masks)).row(0) if rules else ()
    )
    reports = [duplicate_rule_rows(part), example_rows(part)]
    for rule, mask, count in zip(rules, masks, counts, strict=True):
        if not count:
            continue
        header = part.raw.headers.get(rule.column, kind.column(rule.column).header)
        value = clean(_text(rule.column)) if rule.column in present else pl.lit(None, pl.String)
        reason = pl.lit(rule.reason) if isinstance(rule.reason, str) else rule.reason
        reports.append(
            work.filter(mask).select(
                pl.lit(part.label).alias("文件"),
                pl.col(ROW).alias("行号"),
                pl.lit(header).alias("列"),
                value.fill_null("").alias("值"),
                reason.alias("原因"),
            )
        )
    return pl.concat(reports)
