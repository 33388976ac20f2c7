"""The 结对名册: 老新结对 and 以老带老 pairs of members, and the 结对单位 programmes
(城乡结对, 双百结对, 企村结对) through which outside units' members volunteer.

Filed once, in the first month of the sample (the pairs in force then, or from when
both sides are on the roll). A new or young member is paired with a 网格员 of the
same sub-grid (老新结对); an elderly member with a younger retired one (以老带老).
Every 结对单位党员 volunteer serves through one of the one or two units paired with
their village.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from etl.generate.town import Town
from store.contracts import PAIRING

UNITS = {
    "城乡结对": (
        "区卫生健康委机关党支部",
        "区教育局机关党总支",
        "区财政局机关党支部",
        "区司法局机关党支部",
    ),
    "双百结对": ("农商银行金山支行党支部", "区供电公司第二党支部", "区自来水公司党支部"),
    "企村结对": ("化工区某能源公司党支部", "化工区某材料公司党支部", "化工区某物流公司党支部"),
}


def pairings(town: Town, first: date, rng: np.random.Generator) -> pl.DataFrame:
    """The pairs in force from ``first`` (the sample's first month)."""
    rows: list[tuple] = []
    day = np.datetime64(first)
    for village in town.villages["village_id"].to_list():
        people = town.by_village[village]
        seq = iter(range(1, 1000))
        young = people[
            (town.role[people] == "党员")
            & town.party[people]
            & ((first.year - town.birth[people] < 35) | (town.start[people] > day))
        ]
        for member in rng.permutation(young)[: int(rng.integers(2, 5))]:
            mentor = _in_subgrid(town, member, day, rng, "网格员")
            if mentor is not None:
                rows.append(
                    _pair(town, village, next(seq), "老新结对", mentor, None, member, first)
                )
        age = first.year - town.birth[people]
        elderly = people[(town.role[people] == "党员") & (age > 78)]
        for member in rng.permutation(elderly)[: int(rng.integers(1, 3))]:
            mentor = _in_subgrid(town, member, day, rng, "党员", ages=(62, 76), first=first)
            if mentor is not None:
                rows.append(
                    _pair(town, village, next(seq), "以老带老", mentor, None, member, first)
                )
        rows += _unit_rows(town, village, people, first, seq, rng)
    frame = pl.DataFrame(rows, schema=_schema(), orient="row", strict=False)
    return frame.filter(
        pl.col("active_to").is_null() | (pl.col("active_to") >= pl.col("active_from"))
    )


def _in_subgrid(
    town: Town,
    member: int,
    day: np.datetime64,
    rng: np.random.Generator,
    role: str,
    ages: tuple[int, int] | None = None,
    first: date | None = None,
) -> int | None:
    """A person of ``role`` (within ``ages``) in the member's sub-grid, on the roll."""
    here = town.active(town.by_subgrid.get(str(town.subgrid[member]), np.array([], dtype=int)), day)
    pool = town.with_role(here, role)
    pool = pool[pool != member]
    if ages is not None and first is not None:
        age = first.year - town.birth[pool]
        pool = pool[(age >= ages[0]) & (age <= ages[1])]
    return int(rng.choice(pool)) if pool.size else None


def _unit_rows(
    town: Town, village: str, people: np.ndarray, first: date, seq, rng: np.random.Generator
) -> list[tuple]:
    volunteers = people[town.role[people] == "网格志愿者"]
    kinds = town.people["volunteer_type"].to_numpy()
    volunteers = volunteers[kinds[volunteers] == "结对单位党员"]
    if volunteers.size == 0:
        return []
    programmes = rng.choice(list(UNITS), size=1 + int(rng.random() < 0.5), replace=False)
    units = [(str(p), str(rng.choice(UNITS[str(p)]))) for p in programmes]
    rows = []
    for volunteer in volunteers:
        programme, unit = units[int(rng.integers(len(units)))]
        rows.append(_pair(town, village, next(seq), programme, None, unit, volunteer, first))
    return rows


def _pair(
    town: Town,
    village: str,
    n: int,
    pair_type: str,
    mentor: int | None,
    unit: str | None,
    member: int,
    first: date,
) -> tuple:
    sides = [member] if mentor is None else [member, mentor]
    start = max([first, *(town.start[i].astype(date) for i in sides)])
    ends = [town.end[i].astype(date) for i in sides if town.end[i] < np.datetime64("2999-01-01")]
    return (
        f"JD-{village}-{n:03d}",
        pair_type,
        village,
        None if mentor is None else str(town.pid[mentor]),
        unit,
        str(town.pid[member]),
        start,
        min(ends) if ends else None,
    )


def _schema() -> dict[str, pl.DataType]:
    types = {"text": pl.String, "date": pl.Date}
    return {c.name: types[c.dtype] for c in PAIRING.columns}
