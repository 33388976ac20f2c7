"""The briefing as a coloured XLSX: the same :class:`~briefing.document.Briefing` as
the PDF, for offices that want the numbers in Excel.

Sheet 通报 holds the title, the key points and the KPI cards; each table section gets
its own sheet (header shaded, marked rows coloured red/amber/green as in the PDF).
Text cells are written as strings, never as formulas.
"""

from __future__ import annotations

import io
import re

import xlsxwriter

from briefing.document import Briefing

FILLS = {"red": "#F4CCD2", "yellow": "#FBE5C0", "green": "#D5EBDD"}
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _SHEET_UNSAFE.sub("_", title)[:28] or "表"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def render_xlsx(briefing: Briefing) -> bytes:
    """The briefing as XLSX bytes."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    title = book.add_format({"bold": True, "font_size": 16, "font_color": "#C8102E"})
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#F6F1EE", "border": 1})
    cell = book.add_format({"border": 1})
    marked = {m: book.add_format({"border": 1, "bg_color": c}) for m, c in FILLS.items()}
    taken: set[str] = set()

    front = book.add_worksheet(_sheet_name("通报", taken))
    front.set_column(0, 0, 24)
    front.set_column(1, 3, 22)
    front.write_string(0, 0, f"{briefing.title}（{briefing.scope} · {briefing.period}）", title)
    front.write_string(1, 0, briefing.as_of)
    row = 3
    front.write_string(row, 0, briefing.key_points_title, bold)
    for point in briefing.key_points:
        row += 1
        front.write_string(row, 0, point)
    row += 2
    front.write_string(row, 0, "主要指标", bold)
    row += 1
    for column, text in enumerate(("指标", "数值", "环比/同比")):
        front.write_string(row, column, text, header)
    for card in briefing.kpis:
        row += 1
        front.write_string(row, 0, card.label, cell)
        front.write_string(row, 1, card.value, cell)
        front.write_string(row, 2, "；".join(c.text for c in card.changes), cell)

    for section in briefing.sections:
        if section.table is None:
            continue
        sheet = book.add_worksheet(_sheet_name(section.title, taken))
        sheet.write_string(0, 0, section.title, title)
        if section.note:
            sheet.write_string(1, 0, section.note)
        for column, text in enumerate(section.table.columns):
            sheet.write_string(2, column, text, header)
            sheet.set_column(column, column, max(10, 2 * len(text) + 4))
        for r, table_row in enumerate(section.table.rows, start=3):
            fmt = marked.get(table_row.mark, cell) if table_row.mark else cell
            for column, text in enumerate(table_row.cells):
                sheet.write_string(r, column, text, fmt)
        if not section.table.rows:
            sheet.write_string(3, 0, section.empty)
        sheet.freeze_panes(3, 1)
    book.close()
    return buffer.getvalue()
