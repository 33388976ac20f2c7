"""Roles, what each may see and do, and the village scope a user is held to.

- 镇领导 (town leadership): every analytics page, every village; names masked (a leader
  judges units, not persons). Data changes are the town office's job, so no upload.
- 村居书记 (village secretary): the analytics pages for their own village only, with
  names (they follow up their members); no upload.
- 镇办人员 (town office staff): everything of 镇领导, plus upload and undo, with names.
- 管理员 (administrator): users and the audit log; no analytics data.
"""

from __future__ import annotations

from dataclasses import dataclass

LEADER, SECRETARY, OFFICE, ADMIN = "镇领导", "村居书记", "镇办人员", "管理员"
ROLES = (LEADER, SECRETARY, OFFICE, ADMIN)

ANALYTICS_PAGES = (
    "overview",
    "coverage",
    "study",
    "response",
    "map",
    "village",
    "subgrid",
    "ranking",
    "completeness",
    "supervision",
    "responsibility",
    "procedures",
    "places",
    "tv",  # 大屏: the meeting-room TV
)
PAGES_BY_ROLE = {
    LEADER: ANALYTICS_PAGES,
    SECRETARY: ANALYTICS_PAGES,
    OFFICE: (*ANALYTICS_PAGES, "upload"),
    ADMIN: ("admin",),
}


@dataclass(frozen=True)
class User:
    """A signed-in user. ``village_id`` is set for (and only for) 村居书记."""

    username: str
    display_name: str
    role: str
    village_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"未知角色：{self.role}")
        if (self.role == SECRETARY) != bool(self.village_id):
            raise ValueError("村居书记必须且只有村居书记需要指定所属村居")

    @property
    def pages(self) -> tuple[str, ...]:
        return PAGES_BY_ROLE[self.role]

    @property
    def can_upload(self) -> bool:
        return self.role == OFFICE

    @property
    def sees_names(self) -> bool:
        return self.role in (SECRETARY, OFFICE)

    @property
    def village_scope(self) -> str | None:
        """The only village this user may see, or None for all villages."""
        return self.village_id if self.role == SECRETARY else None
