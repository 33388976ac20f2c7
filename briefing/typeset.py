"""Typeset a :class:`~briefing.document.Briefing` as an A4 PDF with Typst.

Typst (the ``typst`` package bundles the compiler: no TeX, no browser, no network)
compiles ``briefing/template.typ`` against a ``data.json`` written here, with the
charts as SVG files beside it. The Chinese font is embedded (subset), so the PDF
looks the same wherever it is opened. Why Typst: docs/decisions.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import typst

from briefing.document import Briefing
from briefing.fonts import FAMILY, SERIF, cjk_font_dirs

TEMPLATE = Path(__file__).with_name("template.typ")


def _data(briefing: Briefing, folder: Path) -> dict:
    """The JSON the template reads; figures are written as files next to it."""
    sections = []
    for number, section in enumerate(briefing.sections, start=1):
        entry: dict = {"title": section.title, "empty": section.empty}
        if section.note:
            entry["note"] = section.note
        if section.table is not None:
            entry["table"] = {
                "columns": list(section.table.columns),
                "left": section.table.left,
                "widths": list(section.table.widths) if section.table.widths else None,
                "rows": [{"cells": list(r.cells), "mark": r.mark} for r in section.table.rows],
            }
        if section.figure is not None:
            name = f"figure-{number}.svg"
            (folder / name).write_bytes(section.figure.svg)
            entry |= {
                "image": name,
                "caption": section.figure.caption,
                "width": section.figure.width,
            }
        sections.append(entry)
    return {
        "title": briefing.title,
        "issuer": briefing.issuer,
        "scope": briefing.scope,
        "period": briefing.period,
        "as_of": briefing.as_of,
        "footer": briefing.footer,
        "key_points": list(briefing.key_points),
        "key_points_title": briefing.key_points_title,
        "kpis": [asdict(card) for card in briefing.kpis],
        "sections": sections,
        "fonts": [FAMILY, SERIF],
    }


def render_pdf(briefing: Briefing) -> bytes:
    """The briefing as PDF bytes (raises briefing.fonts.FontMissing without the font)."""
    fonts = list(cjk_font_dirs())
    with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
        folder = Path(tmp)
        shutil.copyfile(TEMPLATE, folder / "main.typ")
        data = _data(briefing, folder)
        (folder / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return typst.compile(str(folder / "main.typ"), font_paths=fonts)
