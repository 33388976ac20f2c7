"""Upload templates: per kind, the canonical Chinese headers, one example row and a guide.

The upload page offers them as CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX:
a 模板 sheet whose enumerable columns carry drop-down lists (village, sub-grid and place
ids, activity types, statuses, 是/否 …), a 填写说明 sheet and a 编号对照 sheet (each id
of the registry with its name). Example ids come from the shipped registry (营房村,
CJ03). The example row is there to be read, not loaded: an upload that still carries it
is refused, naming the row (:mod:`etl.validation.template_rows`).

The registry kinds (村居, 子网格, 党群服务站点) have no example: their "template" is the
registry as stored (:func:`registry_csv`, :func:`registry_xlsx` of
:func:`etl.registry_upload.registry_export`), to edit and upload back.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import polars as pl

from etl.registry_upload import RegistryLists
from store import contracts as ct
from store.contracts import REGISTRY_KINDS, UPLOAD_KINDS, Kind
from store.duty_catalogue import read_catalogue

if TYPE_CHECKING:
    import xlsxwriter
    from xlsxwriter.worksheet import Worksheet

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

# Kinds whose example invents its own id (never issued by a real log): a row with the
# example's key is the example, whatever else was edited. The others' example keys are
# real codes (an evaluation of CJ03-01 for 2026H1): only the whole row counts.
RESERVED_EXAMPLE_KEYS = frozenset(
    {"person", "activity", "attendance", "report", "pairing", "decision", "study_notice"}
)
EXAMPLE_NOTE = "第 2 行是示例，仅作填写示范：上传前请删除，未删除的示例行会被拒绝。"

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
    """The template as CSV in UTF-8 with BOM: the headers and the example row."""
    return _csv(template_frame(kind))


def _csv(frame: pl.DataFrame) -> bytes:
    return ("\ufeff" + frame.write_csv()).encode("utf-8")


def template_xlsx(kind: Kind, registry: RegistryLists | None = None) -> bytes:
    """The template as XLSX: the 模板 sheet (text cells, drop-down lists on the
    enumerable columns), the 填写说明 sheet and, given the ``registry``, the 编号对照
    sheet that the id columns' drop-downs list."""
    return _workbook(kind, template_frame(kind), registry, example=True)


def registry_csv(kind: Kind, rows: pl.DataFrame) -> bytes:
    """A registry file as CSV (UTF-8 with BOM): ``rows`` is the stored registry
    (:func:`etl.registry_upload.registry_export`), to edit and upload back."""
    return _csv(rows)


def registry_xlsx(kind: Kind, rows: pl.DataFrame, registry: RegistryLists) -> bytes:
    """A registry file as XLSX (``rows`` as for :func:`registry_csv`), with the
    drop-downs, the guide and the 编号对照 sheet."""
    return _workbook(kind, rows, registry, example=False)


# Rows of the 模板 sheet that carry the drop-down lists (a month's log of a town is a few
# thousand rows; the list applies to pasted rows only when Excel re-checks them).
VALIDATED_ROWS = 5000
NAMES_SHEET = "编号对照"
# The 编号对照 sheet: per list, its first column letter and its columns (header, field).
# The headers name at most one upload column each (bare 编号; 站点名称, not 名称), so the
# reader never takes the sheet for a table of its own when the workbook is uploaded.
_NAME_BLOCKS = (
    ("A", "villages", (("编号", "village_id"), ("村居名称", "name"))),
    ("D", "subgrids", (("编号", "subgrid_id"), ("子网格名称", "name"), ("所属村居", "village_id"))),
    (
        "H",
        "points",
        (
            ("编号", "place_id"),
            ("站点名称", "name"),
            ("站点类型", "kind"),
            ("所属村居", "village_id"),
        ),
    ),
)
# Id columns whose drop-down lists the 编号对照 sheet's block (kind of file: any).
_ID_LISTS = {"village_id": "villages", "subgrid_id": "subgrids", "place_id": "points"}


def _workbook(
    kind: Kind, frame: pl.DataFrame, registry: RegistryLists | None, example: bool
) -> bytes:
    buffer = io.BytesIO()
    # Imported here: the loader imports this module for EXAMPLES on every load, and
    # xlsxwriter costs 0.15 s of a command-line load's start (docs/performance.md).
    import xlsxwriter

    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "in_memory": True}) as book:
        frame.write_excel(book, worksheet="模板", autofit=True)
        sheet = book.get_worksheet_by_name("模板")
        guide_frame(kind).write_excel(book, worksheet="填写说明", autofit=True)
        guide = book.get_worksheet_by_name("填写说明")
        if example:
            sheet.write_comment(1, 0, EXAMPLE_NOTE, {"x_scale": 2})
            guide.write(len(kind.columns) + 2, 0, EXAMPLE_NOTE)
        ranges = _names_sheet(book, registry) if registry is not None else {}
        _drop_downs(sheet, kind, ranges, max(frame.height + 1, VALIDATED_ROWS))
    return buffer.getvalue()


def _names_sheet(book: xlsxwriter.Workbook, registry: RegistryLists) -> dict[str, str]:
    """Write the 编号对照 sheet; returns list name → the range of its ids."""
    sheet = book.add_worksheet(NAMES_SHEET)
    bold = book.add_format({"bold": True})
    ranges = {}
    for letter, name, columns in _NAME_BLOCKS:
        frame: pl.DataFrame = getattr(registry, name)
        first = ord(letter) - ord("A")
        for offset, (header, field) in enumerate(columns):
            sheet.write(0, first + offset, header, bold)
            sheet.write_column(1, first + offset, frame[field].fill_null("").to_list())
            sheet.set_column(first + offset, first + offset, 14 if offset else 12)
        last = max(frame.height, 1) + 1
        ranges[name] = f"='{NAMES_SHEET}'!${letter}$2:${letter}${last}"
    sheet.freeze_panes(1, 0)
    return ranges


def _choices(kind: Kind, column: ct.Column) -> list[str] | None:
    """The fixed values a column allows, if it has a short list of them."""
    allowed = ct.ENUMS.get((kind.name, column.name))
    if allowed is not None:
        return list(allowed)
    if column.dtype == "bool":
        return ["是", "否"]
    if kind.name == "duty_rating" and column.name == "duty_id":
        return list(read_catalogue().manual_ids)
    return None


def _drop_downs(sheet: Worksheet, kind: Kind, ranges: dict[str, str], rows: int) -> None:
    """A drop-down list on every enumerable column of the 模板 sheet."""
    for index, column in enumerate(kind.columns):
        choices = _choices(kind, column)
        is_key = column.name in kind.key and kind.name in REGISTRY_NAMES
        source: list[str] | str | None = choices
        if choices is None and not is_key and column.name in _ID_LISTS:
            source = ranges.get(_ID_LISTS[column.name])
        if not source:
            continue
        where = f"“{NAMES_SHEET}”表" if isinstance(source, str) else "下拉列表"
        sheet.data_validation(
            1,
            index,
            rows,
            index,
            {
                "validate": "list",
                "source": source,
                "ignore_blank": True,
                "error_type": "warning",
                "error_title": "不在可选值之内",
                "error_message": f"{column.header}应从{where}中选择。",
                "input_title": column.header,
                "input_message": f"从{where}中选择"[:255],
            },
        )


REGISTRY_NAMES = frozenset(k.name for k in REGISTRY_KINDS)


def template_kinds() -> tuple[Kind, ...]:
    """The kinds an office uploads, in the order the page lists them."""
    return UPLOAD_KINDS


def registry_kinds() -> tuple[Kind, ...]:
    """The registry kinds, whose download is the registry as stored."""
    return REGISTRY_KINDS
