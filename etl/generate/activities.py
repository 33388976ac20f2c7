"""Activities and their sign-in sheets, month by month, as the office receives them.

Diligence drives how many required activities a sub-grid holds; the season thins them
out (:mod:`etl.generate.seasons`). Paperwork is imperfect: a few activities reach the
office a month late (``file_month`` says which month's file holds them), a few have no
sign-in sheet at all, a few sign-in rows are missing. Who is on a roll and who comes
is :mod:`etl.generate.attendance`.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

import numpy as np
import polars as pl

from etl.generate.attendance import roll_call, roll_for
from etl.generate.seasons import SPRING_FESTIVAL, season_factor
from etl.generate.town import Town, datetime_column

TOPICS = {
    "主题党日": [
        "重温入党誓词",
        "学习贯彻全会精神",
        "垃圾分类宣传实践",
        "走访慰问困难党员",
        "河道环境整治行动",
        "平安建设宣传",
    ],
    "学习教育": [
        "党章党规专题学习",
        "乡村振兴政策解读",
        "基层治理案例研讨",
        "党史学习教育",
        "安全生产知识学习",
        "法律法规进网格",
    ],
    "党员议事会": ["村级道路维护议事", "人居环境提升议事", "集体经济项目议事"],
    "子网格长接待日": ["子网格长接待日"],
    "网格长巡查": ["网格日常巡查", "防汛防台巡查", "消防安全巡查", "河道巡查"],
    "网格工作例会": ["网格工作例会"],
    "组织生活会": ["年度组织生活会", "专题组织生活会"],
    "志愿服务": ["敬老助老志愿服务", "环境清洁志愿服务", "反诈宣传志愿服务", "政策宣讲志愿服务"],
    "其他": ["党群联谊活动", "红色观影", "参观学习"],
}

START_HOURS = {
    "主题党日": 9,
    "学习教育": 14,
    "党员议事会": 19,
    "子网格长接待日": 9,
    "网格长巡查": 8,
    "网格工作例会": 14,
    "组织生活会": 9,
    "志愿服务": 8,
    "其他": 13,
}

DURATIONS = {
    "主题党日": (90, 150),
    "学习教育": (60, 120),
    "党员议事会": (60, 120),
    "子网格长接待日": (120, 240),
    "网格长巡查": (45, 120),
    "网格工作例会": (60, 120),
    "组织生活会": (120, 180),
    "志愿服务": (90, 240),
    "其他": (60, 180),
}


def activities(
    town: Town, month_list: list[date], rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(activities, sign-ins) of every month, each row with the ``file_month`` (index in
    ``month_list``) of the file that holds it."""
    act_rows: list[tuple] = []
    att_ids: list[np.ndarray] = []
    att_people: list[np.ndarray] = []
    att_status: list[np.ndarray] = []
    att_mode: list[np.ndarray] = []
    att_signed: list[np.ndarray] = []
    att_month: list[np.ndarray] = []
    last = len(month_list) - 1

    def add(kind_: str, day: date, village: str, subgrid: str | None, roll, study, mi, seq):
        unit = subgrid or village
        activity_id = f"HD{day:%Y%m}-{unit}-{seq:03d}"
        lo, hi = DURATIONS[kind_]
        duration = int(rng.integers(lo, hi + 1) // 5 * 5)
        places = town.places[village]
        place = town.station[village] if subgrid is None else places[int(rng.integers(len(places)))]
        organizer = _organizer(town, village, subgrid, kind_, np.datetime64(day), rng)
        late = mi < last and rng.random() < 0.03
        act_rows.append(
            (
                activity_id,
                day,
                village,
                subgrid,
                kind_,
                TOPICS[kind_][int(rng.integers(len(TOPICS[kind_])))],
                place,
                organizer,
                duration,
                mi + 1 if late else mi,
            )
        )
        if roll.size == 0 or rng.random() < 0.02:  # a lost sign-in sheet
            return
        status, mode, offsets = roll_call(town, roll, kind_, study, day, rng)
        keep = rng.random(roll.size) >= 0.015  # a few rows never written down
        n = int(keep.sum())
        start = np.datetime64(datetime(day.year, day.month, day.day, START_HOURS[kind_]), "s")
        att_ids.append(np.full(n, activity_id, dtype=object))
        att_people.append(town.pid[roll[keep]])
        att_status.append(status[keep])
        att_mode.append(mode[keep])
        signed = start + offsets[keep].astype("timedelta64[s]")
        att_signed.append(np.where(status[keep] == "出席", signed, np.datetime64("NaT")))
        att_month.append(np.full(n, mi + 1 if late else mi))

    for mi, month in enumerate(month_list):
        y, m = month.year, month.month
        season = season_factor(month)
        ndays = calendar.monthrange(y, m)[1]

        def pick_day(center: int | None = None, _ndays=ndays, _y=y, _m=m) -> date:
            if center is None:
                return date(_y, _m, int(rng.integers(1, _ndays + 1)))
            return date(_y, _m, int(np.clip(center + rng.integers(-3, 4), 1, _ndays)))

        for vid in town.villages["village_id"].to_list():
            vdil = town.village_diligence[vid]
            seq = 1
            vroll = town.by_village.get(vid, np.array([], dtype=int))
            if rng.random() < min(0.99, 0.93 * season**0.5 * (0.6 + 0.4 * vdil)):
                day = pick_day(int(rng.integers(3, 10)))
                staff = town.with_role(
                    town.active(vroll, np.datetime64(day)), "总网格长", "网格指导员", "子网格长"
                )
                leader = town.with_role(town.active(vroll, np.datetime64(day)), "督导员")
                if leader.size and rng.random() < 0.45:
                    staff = np.concatenate([staff, leader])
                add("网格工作例会", day, vid, None, staff, False, mi, seq)
                seq += 1
            if m in (3, 6, 9, 12) and rng.random() < 0.55 + 0.4 * vdil:
                day = pick_day()
                roll = town.members(town.active(vroll, np.datetime64(day)))
                add("学习教育", day, vid, None, roll, True, mi, seq)
                seq += 1

        for sg in town.subgrids["subgrid_id"].to_list():
            vid = town.subgrid_village[sg]
            dil = town.subgrid_diligence[sg]
            level = dil * season
            idx = town.by_subgrid.get(sg, np.array([], dtype=int))
            seq = 1

            def held(p: float, _level=level) -> bool:
                return rng.random() < min(0.995, p * _level)

            plan: list[tuple[str, date]] = []
            if held(1.02):
                plan.append(("主题党日", pick_day(town.party_day[vid])))
            for _ in range(2 if rng.random() < 0.2 else 1):
                if held(1.0):
                    plan.append(("学习教育", pick_day()))
            if held(0.98):
                plan.append(("子网格长接待日", pick_day()))
            for _ in range(int(rng.binomial(3, min(0.97, 0.8 * level)))):
                plan.append(("网格长巡查", pick_day()))
            if rng.random() < 0.3 * level:
                plan.append(("党员议事会", pick_day()))
            sf_month = SPRING_FESTIVAL.get(y, date(y, 2, 1)).month
            if (m in (1, 2) and m != sf_month and rng.random() < 0.85) or (
                m == 7 and rng.random() < 0.3
            ):
                plan.append(("组织生活会", pick_day()))
            for _ in range(int(rng.binomial(2, 0.5 * level))):
                plan.append(("志愿服务", pick_day()))
            if rng.random() < 0.08:
                plan.append(("其他", pick_day()))

            for kind_, day in sorted(plan, key=lambda p: (p[1], p[0])):
                here = town.active(idx, np.datetime64(day))
                roll = roll_for(town, here, kind_, rng)
                add(kind_, day, vid, sg, roll, kind_ == "学习教育", mi, seq)
                seq += 1

    activity = pl.DataFrame(
        act_rows,
        schema={
            "activity_id": pl.String,
            "activity_date": pl.Date,
            "village_id": pl.String,
            "subgrid_id": pl.String,
            "activity_type": pl.String,
            "topic": pl.String,
            "place_id": pl.String,
            "organizer_id": pl.String,
            "duration_min": pl.Int64,
            "file_month": pl.Int64,
        },
        orient="row",
    )
    attendance = pl.DataFrame(
        {
            "activity_id": pl.Series(np.concatenate(att_ids).astype(str), dtype=pl.String),
            "person_id": pl.Series(np.concatenate(att_people).astype(str), dtype=pl.String),
            "status": pl.Series(np.concatenate(att_status).astype(str), dtype=pl.String),
            "mode": pl.Series(np.concatenate(att_mode).astype(str), dtype=pl.String),
            "signed_at": datetime_column(np.concatenate(att_signed)),
            "file_month": pl.Series(np.concatenate(att_month), dtype=pl.Int64),
        }
    ).with_columns(pl.when(pl.col("mode") == "").then(None).otherwise(pl.col("mode")).alias("mode"))
    return activity, attendance


def _organizer(
    town: Town, village: str, subgrid: str | None, kind_: str, day, rng: np.random.Generator
) -> str | None:
    if subgrid is None:
        pool = town.with_role(town.active(town.by_village[village], day), "总网格长")
    elif kind_ == "志愿服务":
        pool = town.with_role(town.active(town.by_subgrid[subgrid], day), "网格员", "子网格长")
    else:
        pool = town.with_role(town.active(town.by_subgrid[subgrid], day), "子网格长")
    if pool.size == 0:
        return None
    return str(town.pid[pool[int(rng.integers(pool.size))]])
