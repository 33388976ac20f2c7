"""Upload templates: per kind, the canonical Chinese headers, one example row and a guide.

The upload page offers them as CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX
(a 模板 sheet and a 填写说明 sheet). Example ids come from the shipped registry
(营房村, CJ03), so a template filled in as shown passes validation on the sample.
"""

from __future__ import annotations

import io

import polars as pl
import xlsxwriter

from store import contracts as ct
from store.contracts import UPLOAD_KINDS, Kind

EXAMPLES: dict[str, dict[str, str]] = {
    "person": {
        "person_id": "CJ03-P9001",
        "name": "张三",
        "gender": "男",
        "birth_year": "1965",
        "village_id": "CJ03",
        "subgrid_id": "CJ03-01",
        "is_party_member": "是",
        "role": "党员",
        "volunteer_type": "",
        "active_from": "2026-10-01",
        "active_to": "",
    },
    "activity": {
        "activity_id": "HD202610-CJ03-01-999",
        "activity_date": "2026-10-15",
        "village_id": "CJ03",
        "subgrid_id": "CJ03-01",
        "activity_type": "主题党日",
        "topic": "重温入党誓词",
        "place_id": "CJ03-S",
        "organizer_id": "CJ03-P0001",
        "duration_min": "120",
    },
    "attendance": {
        "activity_id": "HD202610-CJ03-01-999",
        "person_id": "CJ03-P0002",
        "status": "出席",
        "mode": "现场",
        "signed_at": "2026-10-15 09:05:00",
    },
    "report": {
        "report_id": "MQ202610-CJ03-01-999",
        "subgrid_id": "CJ03-01",
        "reporter_id": "CJ03-P0005",
        "category": "环境卫生",
        "summary": "河道漂浮垃圾",
        "reported_at": "2026-10-08 09:30:00",
        "accepted_at": "2026-10-08 11:00:00",
        "verified_at": "2026-10-08 15:20:00",
        "escalated_at": "",
        "resolved_at": "2026-10-10 16:00:00",
        "handling_level": "子网格",
        "status": "已办结",
        "satisfaction": "5",
        "meeting_id": "",
    },
    "evaluation": {
        "period": "2026H1",
        "unit_id": "CJ03-01",
        "index_name": "堡垒指数",
        "rater": "党员群众测评",
        "score": "88.5",
    },
    "deduction": {
        "deduction_date": "2026-10-20",
        "unit_id": "CJ03-01",
        "item": "网格巡查记录缺失",
        "points": "1",
    },
    "pairing": {
        "pair_id": "JD-CJ03-999",
        "pair_type": "老新结对",
        "village_id": "CJ03",
        "mentor_id": "CJ03-P0002",
        "partner_unit": "",
        "member_id": "CJ03-P0005",
        "active_from": "2026-10-01",
        "active_to": "",
    },
    "decision": {
        "matter_id": "JC2026-CJ03-99",
        "village_id": "CJ03",
        "subject": "村级道路维护项目",
        "supervised_on": "2026-09-02",
        "proposed_on": "2026-09-05",
        "deliberated_on": "2026-09-12",
        "resolved_on": "2026-09-20",
        "resolution": "两委会决议",
        "published_on": "2026-09-22",
    },
    "study_notice": {
        "notice_id": "TS202610-CJ03-99",
        "issued_on": "2026-10-03",
        "village_id": "CJ03",
        "issuer_id": "CJ03-P0001",
        "theme": "学习贯彻全会精神",
    },
    "duty_rating": {
        "period": "2026H1",
        "person_id": "CJ-L03",
        "duty_id": "D03",
        "result": "已履职",
        "note": "参加营房村上半年子网格考评",
    },
}

_FORMATS = {
    "text": "文本",
    "date": "日期，如 2026-10-05、2026/10/5、2026年10月5日",
    "timestamp": "日期时间，如 2026-10-05 09:30（秒可省略）",
    "int": "整数",
    "float": "数字",
    "bool": "是 / 否",
}


def template_frame(kind: Kind) -> pl.DataFrame:
    """The template: canonical Chinese headers and one example row (all text)."""
    example = EXAMPLES[kind.name]
    return pl.DataFrame({c.header: [example[c.name]] for c in kind.columns})


def guide_frame(kind: Kind) -> pl.DataFrame:
    """One row per column: header, English alias, required, format, allowed values."""
    return pl.DataFrame(
        {
            "列名": [c.header for c in kind.columns],
            "英文别名": [c.name for c in kind.columns],
            "必填": ["是" if c.required else "否" for c in kind.columns],
            "格式": [_FORMATS[c.dtype] for c in kind.columns],
            "可选值": ["、".join(ct.ENUMS.get((kind.name, c.name), ())) for c in kind.columns],
        }
    )


def template_csv(kind: Kind) -> bytes:
    """The template as CSV in UTF-8 with BOM."""
    return ("\ufeff" + template_frame(kind).write_csv()).encode("utf-8")


def template_xlsx(kind: Kind) -> bytes:
    """The template as XLSX: the 模板 sheet (text cells) and the 填写说明 sheet."""
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "in_memory": True}) as book:
        template_frame(kind).write_excel(book, worksheet="模板", autofit=True)
        guide_frame(kind).write_excel(book, worksheet="填写说明", autofit=True)
    return buffer.getvalue()


def template_kinds() -> tuple[Kind, ...]:
    """The kinds an office uploads, in the order the page lists them."""
    return UPLOAD_KINDS
