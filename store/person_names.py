"""How a personal name is masked (张*明): one rule for the pages, the briefing, the
reminders and the 本月要点 sentences. Who sees full names is decided by the callers
(ui.privacy for the dashboard, ``--user`` for the CLIs)."""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """Mask a personal name: 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明."""
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
