"""The person roster: the six-level team, the party members and the volunteers.

14 督导员 (``CJ-L01``…), per village 1 总网格长 and 2–4 网格指导员, per sub-grid 1 子网格长
and about one 网格员 per ten party members, the other party members (role 党员), and
416 网格志愿者. Birth years, genders and dates are drawn from seeded generators.

是否党员 means a member whose party relationship is in this town's grid organisation
— the study-coverage denominator; 在职党员/结对单位党员 volunteers belong to
organisations elsewhere, so every 网格志愿者 row has ``is_party_member`` = 否. A
person's ``active_from``/``active_to`` bound the months in which the person counts in
denominators; about 4 % joined after 2024-10 and about 3 % left since then.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from etl.registry_build.names import person_name
from etl.registry_build.organisation import (
    DEFAULT_SEED,
    NO,
    TARGET_PARTY_MEMBERS,
    TOWN_ID,
    VILLAGES,
    VOLUNTEER_COUNTS,
    YES,
    subgrid_ids,
)

# The window of "recent" changes in the roster: joins and departures in it are what
# makes monthly denominators move.
RECENT_FROM = date(2024, 11, 1)
RECENT_JOIN_TO = date(2026, 10, 31)
LEAVE_TO = date(2026, 9, 30)
LONG_STANDING_TO = date(2024, 10, 31)


def _random_date(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


_BIRTH_RANGES = {
    "督导员": (1968, 1986),
    "总网格长": (1965, 1990),
    "网格指导员": (1962, 1993),
    "子网格长": (1950, 1988),
    "网格员": (1952, 1996),
    "在职党员": (1966, 2001),
    "结对单位党员": (1966, 2001),
    "新乡贤": (1951, 1985),
    "埭长": (1951, 1976),
}
_MALE_SHARE = {
    "督导员": 0.75,
    "总网格长": 0.8,
    "网格指导员": 0.6,
    "子网格长": 0.7,
    "网格员": 0.6,
    "在职党员": 0.55,
    "结对单位党员": 0.6,
    "新乡贤": 0.8,
    "埭长": 0.8,
}


def _birth_year(rng: random.Random, kind: str, recent: bool) -> int:
    """Birth year by role (or volunteer type); rank-and-file members skew old."""
    if kind in _BIRTH_RANGES:
        lo, hi = _BIRTH_RANGES[kind]
        return rng.randint(lo, hi)
    if recent:  # newly admitted or transferred-in members are young
        return rng.randint(1985, 2002)
    u = rng.random()
    if u < 0.31:
        return int(rng.triangular(1930, 1950.999, 1947))
    if u < 0.59:
        return rng.randint(1951, 1965)
    if u < 0.82:
        return rng.randint(1966, 1980)
    return rng.randint(1981, 2001)


def _subgrid_sizes(rng: random.Random, target: int) -> dict[str, int]:
    """Party members per sub-grid: 15–40, bigger and smaller villages, summing to target."""
    raw: dict[str, float] = {}
    for v in VILLAGES:
        factor = rng.uniform(0.85, 1.15)
        for sid in subgrid_ids(v):
            raw[sid] = factor * rng.uniform(0.65, 1.35)
    scale = target / sum(raw.values())
    sizes = {sid: min(40, max(15, round(x * scale))) for sid, x in raw.items()}
    keys = sorted(sizes)
    diff = target - sum(sizes.values())
    while diff:
        sid = rng.choice(keys)
        step = 1 if diff > 0 else -1
        if 15 <= sizes[sid] + step <= 40:
            sizes[sid] += step
            diff -= step
    return sizes


def _grid_workers(members: int) -> int:
    """About one 网格员 per ten party members of a sub-grid (half up, at least one)."""
    return max(1, math.floor(members / 10 + 0.5))


def _volunteer_slots(rng: random.Random) -> dict[str, list[str]]:
    """subgrid_id → volunteer types, by kind of village (no 埭长 in communities)."""
    all_sg = [(v, sid) for v in VILLAGES for sid in subgrid_ids(v)]
    slots: dict[str, list[str]] = {sid: [] for _, sid in all_sg}
    weights = {
        "在职党员": {"社区": 3.0, "村": 1.0},
        "结对单位党员": {"社区": 1.0, "村": 1.0},
        "新乡贤": {"社区": 0.2, "村": 1.0},
        "埭长": {"社区": 0.0, "村": 1.0},
    }
    for vtype, count in VOLUNTEER_COUNTS:
        pool = [sid for v, sid in all_sg if weights[vtype][v.kind] > 0]
        w = [weights[vtype][v.kind] for v, _ in all_sg if weights[vtype][v.kind] > 0]
        picks: list[str] = []
        if vtype == "埭长":  # every 埭 (village sub-grid) has its head, some have two
            picks.extend(pool)
        picks.extend(rng.choices(pool, weights=w, k=count - len(picks)))
        for sid in picks:
            slots[sid].append(vtype)
    return slots


@dataclass(frozen=True)
class _Slot:
    """A place in the roster before a person is drawn for it."""

    kind: str  # role, or volunteer type for volunteers
    role: str
    village_id: str
    subgrid_id: str


def _roster_slots(rng: random.Random) -> list[list[_Slot]]:
    """The roster's structure: per village (in order) the slots of its people."""
    sizes = _subgrid_sizes(rng, TARGET_PARTY_MEMBERS - len(VILLAGES))
    volunteers = _volunteer_slots(rng)
    villages = []
    for v in VILLAGES:
        vid = v.village_id
        sids = subgrid_ids(v)
        homes = rng.sample(sids, 1 + v.guides)  # sub-grids of 总网格长 and 网格指导员
        slots = [_Slot("总网格长", "总网格长", vid, homes[0])]
        slots += [_Slot("网格指导员", "网格指导员", vid, s) for s in homes[1:]]
        for sid in sids:
            members = sizes[sid]
            workers = _grid_workers(members)
            rest = members - 1 - workers - homes.count(sid)
            slots.append(_Slot("子网格长", "子网格长", vid, sid))
            slots += [_Slot("网格员", "网格员", vid, sid)] * workers
            slots += [_Slot("党员", "党员", vid, sid)] * rest
            slots += [_Slot(t, "网格志愿者", vid, sid) for t in sorted(volunteers[sid])]
        villages.append(slots)
    return villages


def build_people(seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """The person roster as CSV-ready rows (strings), sorted by person_id.

    About 4 % of everyone joined in the recent window and about 3 % left in it; both
    are drawn among rank-and-file members (role 党员) and volunteers, so every team
    position stays filled.
    """
    rng = random.Random(f"{seed}:people")
    leaders = [_Slot("督导员", "督导员", v.village_id, "") for v in VILLAGES]
    by_village = _roster_slots(rng)
    slots = leaders + [s for village in by_village for s in village]
    eligible = [i for i, s in enumerate(slots) if s.role in ("党员", "网格志愿者")]
    recent = set(rng.sample(eligible, round(0.04 * len(slots))))
    stayers = [i for i in eligible if i not in recent]
    leaving = set(rng.sample(stayers, round(0.03 * len(slots))))

    def person(i: int) -> dict[str, str]:
        slot = slots[i]
        is_volunteer = slot.role == "网格志愿者"
        birth = _birth_year(rng, slot.kind, i in recent)
        male = _MALE_SHARE.get(slot.kind, 0.72 if birth < 1960 else 0.58)
        gender = "男" if rng.random() < male else "女"
        if i in recent:
            start = _random_date(rng, RECENT_FROM, RECENT_JOIN_TO)
        elif is_volunteer:
            start = _random_date(rng, date(2018, 1, 1), LONG_STANDING_TO)
        elif slot.role == "督导员":
            start = _random_date(rng, date(2016, 1, 1), LONG_STANDING_TO)
        else:  # party members: in the organisation since joining (at 20 or later)
            lo = date(max(1975, min(birth + 20, 2024)), 1, 1)
            start = _random_date(rng, lo, LONG_STANDING_TO)
        end = ""
        if i in leaving:
            end = _random_date(rng, max(RECENT_FROM, start + timedelta(days=1)), LEAVE_TO)
            end = end.isoformat()
        return {
            "person_id": "",
            "name": person_name(rng, gender, birth),
            "gender": gender,
            "birth_year": str(birth),
            "village_id": slot.village_id,
            "subgrid_id": slot.subgrid_id,
            "is_party_member": NO if is_volunteer else YES,
            "role": slot.role,
            "volunteer_type": slot.kind if is_volunteer else "",
            "active_from": start.isoformat(),
            "active_to": end,
        }

    people = [person(i) for i in range(len(slots))]
    for n, row in enumerate(people[: len(leaders)], start=1):
        row["person_id"] = f"{TOWN_ID}-L{n:02d}"
    offset = len(leaders)
    for v, village in zip(VILLAGES, by_village, strict=True):
        rows = people[offset : offset + len(village)]
        offset += len(village)

        # Roster order: long-standing people by sub-grid, then newcomers as they came.
        def order(k: int, rows=rows) -> tuple[str, int]:
            start = rows[k]["active_from"]
            return (start if start >= RECENT_FROM.isoformat() else "", k)

        for seq, k in enumerate(sorted(range(len(rows)), key=order), start=1):
            rows[k]["person_id"] = f"{v.village_id}-P{seq:04d}"
    people.sort(key=lambda r: r["person_id"])
    return people
