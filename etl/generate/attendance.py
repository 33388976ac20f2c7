"""Who is expected at an activity, and who comes, how and when they sign in.

Every member has a fixed engagement, so some are habitually absent; members over 75
are mostly reached at home (``送学上门``) for study; younger ones sometimes join
online; the roster's start and end dates decide who is on a roll. Ordinary members
take turns at the sub-grid's 接待日 and 巡查 (党员轮值) and join 志愿服务, the more
engaged the more often: what the 先锋指数's 作用发挥 counts.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from etl.generate.seasons import season_factor
from etl.generate.town import Town


def roll_for(town: Town, here: np.ndarray, kind_: str, rng: np.random.Generator) -> np.ndarray:
    """Who is expected at an activity of this kind, among the sub-grid's people."""
    if kind_ in ("主题党日", "学习教育", "组织生活会", "其他"):
        return town.members(here)
    if kind_ == "子网格长接待日":
        lead = town.with_role(here, "子网格长")
        helpers = town.with_role(here, "网格员")
        extra = helpers[rng.random(helpers.size) < 0.3]
        return np.concatenate([lead, extra, _on_duty(town, here, ROTA["reception"], rng)])
    if kind_ == "网格长巡查":
        grid = town.with_role(here, "子网格长", "网格员")
        guides = town.with_role(here, "总网格长", "网格指导员")
        return np.concatenate(
            [
                grid,
                guides[rng.random(guides.size) < 0.5],
                _on_duty(town, here, ROTA["patrol"], rng),
            ]
        )
    if kind_ == "党员议事会":
        core = town.with_role(here, "子网格长", "网格员", "总网格长", "网格指导员")
        rest = town.with_role(here, "党员")
        return np.concatenate([core, rest[rng.random(rest.size) < 0.4]])
    if kind_ == "志愿服务":
        vols = town.with_role(here, "网格志愿者")
        grid = town.with_role(here, "网格员", "子网格长")
        mem = town.with_role(here, "党员")
        return np.concatenate(
            [
                vols[rng.random(vols.size) < 0.45],
                grid[rng.random(grid.size) < 0.5],
                mem[rng.random(mem.size) < ROTA["volunteer"] * town.engagement[mem] ** 2],
            ]
        )
    raise ValueError(kind_)


# The chance that an ordinary member of the sub-grid is asked to an activity of this
# kind, times the member's engagement (squared for 志愿服务, which members choose).
ROTA = {"reception": 0.09, "patrol": 0.09, "volunteer": 0.32}


def _on_duty(town: Town, here: np.ndarray, chance: float, rng: np.random.Generator) -> np.ndarray:
    """The ordinary members of the sub-grid on duty at an activity (党员轮值)."""
    members = town.with_role(here, "党员")
    return members[rng.random(members.size) < chance * town.engagement[members]]


def roll_call(
    town: Town,
    roll: np.ndarray,
    kind_: str,
    study: bool,
    day: date,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status, mode and sign-in offset (seconds from the start) for each person on a roll."""
    n = roll.size
    age = day.year - town.birth[roll]
    elderly = age > 75
    village = town.village[roll[0]]
    vdil = town.village_diligence[village]
    season = season_factor(day) ** 0.5
    if kind_ == "志愿服务":  # only those who came sign a volunteer sheet
        status = np.full(n, "出席", dtype=object)
        mode = np.full(n, "现场", dtype=object)
        return status, mode, rng.normal(-300, 420, n).astype(int)

    present_p = season * town.engagement[roll] * (0.3 + 0.7 * vdil)
    if study:
        # Villages that visit elderly members at home reach most of them.
        present_p = np.where(elderly, 0.92 * vdil * town.engagement[roll], present_p)
    else:
        present_p = np.where(elderly, present_p * 0.6, present_p)
    present_p = np.clip(present_p, 0.02, 0.985)
    leave_share = np.where(elderly, 0.65, 0.45)
    r = rng.random(n)
    status = np.where(
        r < present_p,
        "出席",
        np.where(r < present_p + (1 - present_p) * leave_share, "请假", "缺席"),
    ).astype(object)

    u = rng.random(n)
    if study:
        home = (elderly & (u < 0.82)) | ((age > 65) & ~elderly & (u < 0.12))
        online = ~home & (age < 50) & (u > 0.72)
    else:
        home = np.zeros(n, dtype=bool)
        online = (age < 50) & (u > 0.94)
    mode = np.where(home, "送学上门", np.where(online, "线上", "现场")).astype(object)
    mode = np.where(status == "出席", mode, "")

    offsets = rng.normal(-360, 480, n)
    offsets = np.where(home, rng.uniform(3600, 6 * 3600, n), offsets)
    offsets = np.where(online, rng.uniform(-600, 5400, n), offsets)
    return status, mode, offsets.astype(int)
