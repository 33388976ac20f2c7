"""The town's organisation: its villages and the published sizes of their organisation.

The numbers (89 sub-grids, 23 党支部, 2,403 party members, 416 volunteers) are the town's
own (docs/data.md); the names of two villages and one community are not public and
ship as placeholders (``is_placeholder`` = 是).
"""

from __future__ import annotations

from dataclasses import dataclass

TOWN_ID = "CJ"
TOWN_NAME = "漕泾镇"
DEFAULT_SEED = 2026

TARGET_PARTY_MEMBERS = 2403  # all is_party_member rows, 督导员 included
VOLUNTEER_COUNTS = (("在职党员", 150), ("结对单位党员", 100), ("新乡贤", 80), ("埭长", 86))

YES, NO = "是", "否"


@dataclass(frozen=True)
class VillageSpec:
    """Static facts of one 村居: id, name, kind and the sizes of its organisation."""

    village_id: str
    name: str
    kind: str  # 村 or 社区
    is_placeholder: bool
    subgrids: int  # 党小组 = 子网格
    branches: int  # 党支部 (incl. second-level) = 党群服务点
    guides: int  # 网格指导员

    @property
    def stem(self) -> str:
        """The name without the placeholder mark, used to name sub-units."""
        return self.name.removesuffix("（占位）")


VILLAGES: tuple[VillageSpec, ...] = (
    VillageSpec("CJ01", "建龙社区", "社区", False, 5, 1, 2),
    VillageSpec("CJ02", "花园社区", "社区", False, 4, 1, 2),
    VillageSpec("CJ03", "营房村", "村", False, 7, 2, 3),
    VillageSpec("CJ04", "沙积村", "村", False, 8, 3, 4),
    VillageSpec("CJ05", "水库村", "村", False, 6, 1, 3),
    VillageSpec("CJ06", "护塘村", "村", False, 7, 2, 3),
    VillageSpec("CJ07", "东海村", "村", False, 9, 3, 4),
    VillageSpec("CJ08", "阮巷村", "村", False, 6, 1, 3),
    VillageSpec("CJ09", "金光村", "村", False, 8, 2, 4),
    VillageSpec("CJ10", "姜庄村", "村", False, 7, 2, 3),
    VillageSpec("CJ11", "海涯村", "村", False, 6, 1, 2),
    VillageSpec("CJ12", "待定村A（占位）", "村", True, 7, 2, 3),
    VillageSpec("CJ13", "待定村B（占位）", "村", True, 5, 1, 2),
    VillageSpec("CJ14", "待定社区（占位）", "社区", True, 4, 1, 2),
)

CHINESE_ORDINALS = "一二三四五六七八九十"


def subgrid_ids(v: VillageSpec) -> list[str]:
    """The ids of a village's sub-grids: ``CJ03-01``, ``CJ03-02``, …."""
    return [f"{v.village_id}-{k:02d}" for k in range(1, v.subgrids + 1)]
