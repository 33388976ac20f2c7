"""What a briefing says, independent of how it is typeset (PDF) or tabulated (XLSX).

:mod:`briefing.content` fills a :class:`Briefing` from the metrics; :mod:`briefing.typeset`
and :mod:`briefing.workbook` render the same object, so the PDF and the XLSX never
disagree. Every value is already text, formatted by the metrics glossary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MARKS = ("red", "yellow", "green")


@dataclass(frozen=True)
class Change:
    """One change of a KPI ("环比 +2.1 个百分点"); ``good`` colours it (None: neutral)."""

    text: str
    good: bool | None = None


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    mark: str | None = None  # one of MARKS: the row's colour

    def __post_init__(self) -> None:
        if self.mark is not None and self.mark not in MARKS:
            raise ValueError(f"unknown mark {self.mark!r}")


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    left: int = 1  # columns aligned left (names); the rest are figures, aligned right
    widths: tuple[float, ...] | None = None  # relative column widths (None: fit the text)


@dataclass(frozen=True)
class Figure:
    svg: bytes
    caption: str
    width: float = 1.0  # of the text width


@dataclass(frozen=True)
class Section:
    title: str
    note: str | None = None
    table: Table | None = None
    figure: Figure | None = None
    empty: str = "（无）"  # shown for a table without rows


@dataclass(frozen=True)
class Briefing:
    title: str  # 漕泾镇网格化党建月度通报
    issuer: str  # 中共漕泾镇委员会办公室
    scope: str  # 全镇 / 营房村
    period: str  # 2026年11月 / 2026年下半年
    as_of: str  # 数据截至 … · 数据版本 …
    footer: str
    key_points: tuple[str, ...]
    kpis: tuple[Card, ...]
    key_points_title: str = "本期要点"  # 本月要点 for a month
    sections: tuple[Section, ...] = field(default_factory=tuple)
