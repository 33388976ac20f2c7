"""Deterministic, realistic sample monthly logs (DESIGN §3.2; ``python -m etl generate``).

The same registry, seed and month range always give byte-identical files. What makes
the data realistic rather than uniform noise:

* **Villages differ.** Each village gets a fixed diligence in [0.6, 1.0]; its sub-grids
  scatter around it. Diligence drives how many required activities are held, how many
  members attend, how many issues are reported and how fast they are handled.
* **Seasons.** The Spring Festival month (and the month around it) and the summer heat
  (July, August) thin out activities and attendance; June and December, the end of each
  half-year, see a small push.
* **People differ.** Every member has a fixed engagement, so some are habitually
  absent; members over 75 are mostly reached at home (``送学上门``) for study; younger
  ones sometimes join online; the roster's start and end dates decide who is on a roll.
* **Issues have a life.** Each report's accept, verify, escalate and resolve delays are
  log-normal (安全稳定 fastest), some run past their limit, some are never accepted, a few
  are refused (不予受理) and a few stay open. A month's file holds the state at the end of
  that month: a report still open then comes back, same id, in the file of the month of
  its next step (latest state wins on load).
* **Paperwork is imperfect.** A few activities reach the office a month late, a few
  have no sign-in sheet at all, a few sign-in rows are missing.
* **Half-year evaluations** (in the June and December files) and occasional deductions.

``--towns K`` replicates the town K times with distinct ids (``T001-`` … prefixes) for
city-scale benchmarks; the replicas share the original's numbers.

Conventions of the generated files: UTF-8 CSV, canonical Chinese headers (DESIGN §7.1),
dates ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS``, 是/否 for flags. 不予受理
reports carry the time of the refusal in 受理时间 and nothing after it.
"""

from __future__ import annotations

import calendar
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from etl.loader import DATE_FORMAT, TIMESTAMP_FORMAT, read_canonical_csv
from store.contracts import (
    ACTIVITY,
    ATTENDANCE,
    BOOL_FALSE,
    BOOL_TRUE,
    DEDUCTION,
    EVALUATION,
    PERSON,
    REPORT,
    SERVICE_POINT,
    SUBGRID,
    VILLAGE,
    Kind,
)
from store.paths import REGISTRY_DIR

DEFAULT_SEED = 20261
DEFAULT_MONTHS = 24

# Spring Festival dates (the month that holds it is the quietest of the year).
SPRING_FESTIVAL = {
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}

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

CATEGORY_WEIGHTS = {
    "社情民意": 0.25,
    "文明风尚": 0.11,
    "安全稳定": 0.15,
    "环境卫生": 0.26,
    "矛盾纠纷": 0.13,
    "其他": 0.10,
}

SUMMARIES = {
    "社情民意": ["村民反映公交班次少", "老人反映就医不便", "居民询问医保缴费政策", "反映路灯损坏"],
    "文明风尚": ["楼道堆物影响通行", "宠物扰民", "红白事大操大办苗头", "乱贴小广告"],
    "安全稳定": ["老旧电线存在隐患", "电动车违规充电", "河边护栏破损", "危房存在安全隐患"],
    "环境卫生": ["河道漂浮垃圾", "垃圾分类投放不规范", "宅前屋后杂物堆放", "公厕保洁不到位"],
    "矛盾纠纷": ["邻里宅基地界线纠纷", "土地流转费用纠纷", "家庭赡养纠纷", "租户与房东纠纷"],
    "其他": ["建议增设健身器材", "反映快递点设置问题", "咨询就业招聘信息"],
}

# Log-normal delays: (median hours, sigma) by step; 安全稳定 is handled fastest.
ACCEPT_DELAY = {"安全稳定": (1.5, 0.9), "_": (7.0, 1.1)}
VERIFY_DELAY = {"安全稳定": (3.0, 0.8), "_": (14.0, 0.9)}
ESCALATE_DELAY = {"安全稳定": (4.0, 0.8), "_": (30.0, 0.8)}
RESOLVE_DELAY = {"安全稳定": (14.0, 0.8), "_": (60.0, 0.9)}
ESCALATE_SHARE = {"矛盾纠纷": 0.40, "安全稳定": 0.35, "_": 0.20}

DEDUCTION_ITEMS = {
    "subgrid": [
        ("未按规定召开主题党日", 2),
        ("民情事项超期未办结", 2),
        ("网格巡查记录缺失", 1),
        ("台账资料报送不及时", 1),
    ],
    "person": [("无故缺席组织生活", 2), ("履职不到位被通报", 3), ("违反廉洁纪律", 5)],
}

FILE_ORDER = ("activity", "attendance", "report", "evaluation", "deduction")

# Columns that carry ids, per kind: replicas prefix them to stay distinct.
ID_COLUMNS = {
    "village": ("village_id", "town_id"),
    "subgrid": ("subgrid_id", "village_id"),
    "service_point": ("place_id", "village_id"),
    "person": ("person_id", "village_id", "subgrid_id"),
    "activity": ("activity_id", "village_id", "subgrid_id", "place_id", "organizer_id"),
    "attendance": ("activity_id", "person_id"),
    "report": ("report_id", "subgrid_id", "reporter_id"),
    "evaluation": ("unit_id",),
    "deduction": ("unit_id",),
}


@dataclass
class GenerateResult:
    """What was written: one entry per file, with its row count."""

    out_dir: Path
    months: list[str]
    files: list[Path] = field(default_factory=list)
    rows: dict[Path, int] = field(default_factory=dict)
    registry_files: list[Path] = field(default_factory=list)

    def month_files(self) -> list[Path]:
        """Monthly files in load order (month by month, activities before attendance)."""
        return list(self.files)


def last_complete_month(today: date | None = None) -> tuple[int, int]:
    """The last calendar month that has fully ended."""
    today = today or date.today()
    first = today.replace(day=1)
    prev = first - timedelta(days=1)
    return prev.year, prev.month


def parse_month(text: str) -> tuple[int, int]:
    """Parse ``YYYY-MM``."""
    try:
        year, month = (int(p) for p in text.split("-"))
        date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"月份格式应为 YYYY-MM：{text!r}") from exc
    return year, month


def month_range(end: tuple[int, int], months: int) -> list[tuple[int, int]]:
    """``months`` consecutive (year, month) pairs ending at ``end``."""
    year, month = end
    out = []
    for _ in range(months):
        out.append((year, month))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def season_factor(year: int, month: int) -> float:
    """Share of the usual activity level a month sees (1.0 = normal)."""
    sf = SPRING_FESTIVAL.get(year)
    factor = 1.0
    if sf and sf.month == month:
        factor = 0.72
    elif sf and abs(sf.month - month) == 1 and month <= 3:
        factor = 0.9
    elif month in (7, 8):
        factor = 0.88
    elif month in (6, 12):
        factor = 1.04
    return factor


class _Town:
    """The registry of one town as NumPy arrays, for fast per-unit lookups."""

    def __init__(self, registry: dict[str, pl.DataFrame], rng: np.random.Generator):
        self.villages = registry["village"].sort("village_id")
        self.subgrids = registry["subgrid"].sort("subgrid_id")
        self.points = registry["service_point"].sort("place_id")
        people = registry["person"].sort("person_id")
        self.people = people
        self.pid = people["person_id"].to_numpy()
        self.role = people["role"].to_numpy()
        self.subgrid = people["subgrid_id"].fill_null("").to_numpy()
        self.village = people["village_id"].to_numpy()
        self.party = people["is_party_member"].to_numpy()
        self.birth = people["birth_year"].fill_null(1970).to_numpy()
        self.start = people["active_from"].to_numpy().astype("datetime64[D]")
        self.end = (
            people["active_to"].fill_null(date(2999, 12, 31)).to_numpy().astype("datetime64[D]")
        )
        n = len(self.pid)
        self.engagement = np.clip(rng.beta(6, 1.6, n) * 1.1, 0.25, 1.05)

        vids = self.villages["village_id"].to_list()
        diligence = np.sort(rng.uniform(0.6, 1.0, len(vids)))
        rng.shuffle(diligence)
        self.village_diligence = dict(zip(vids, diligence, strict=True))
        self.subgrid_village = dict(
            zip(self.subgrids["subgrid_id"], self.subgrids["village_id"], strict=True)
        )
        self.subgrid_diligence = {
            sg: float(np.clip(self.village_diligence[v] * rng.uniform(0.9, 1.08), 0.5, 1.0))
            for sg, v in self.subgrid_village.items()
        }
        self.party_day = {v: int(rng.integers(8, 20)) for v in vids}

        by_subgrid: dict[str, list[int]] = defaultdict(list)
        by_village: dict[str, list[int]] = defaultdict(list)
        for i in range(n):
            if self.subgrid[i]:
                by_subgrid[self.subgrid[i]].append(i)
            by_village[self.village[i]].append(i)
        self.by_subgrid = {k: np.array(v) for k, v in by_subgrid.items()}
        self.by_village = {k: np.array(v) for k, v in by_village.items()}
        self.places: dict[str, list[str]] = defaultdict(list)
        self.station: dict[str, str] = {}
        for pid, vid, kind in self.points.select("place_id", "village_id", "kind").iter_rows():
            self.places[vid].append(pid)
            if kind == "服务站":
                self.station[vid] = pid

    def active(self, idx: np.ndarray, day: np.datetime64) -> np.ndarray:
        """The subset of ``idx`` on the roll on ``day``."""
        if idx.size == 0:
            return idx
        keep = (self.start[idx] <= day) & (self.end[idx] >= day)
        return idx[keep]

    def members(self, idx: np.ndarray) -> np.ndarray:
        return idx[self.party[idx] & (self.role[idx] != "督导员")]

    def with_role(self, idx: np.ndarray, *roles: str) -> np.ndarray:
        return idx[np.isin(self.role[idx], roles)]


def read_registry(registry_dir: Path = REGISTRY_DIR) -> dict[str, pl.DataFrame]:
    """The registry tables (village, subgrid, service_point, person) as typed frames."""
    out = {}
    for kind in (VILLAGE, SUBGRID, SERVICE_POINT, PERSON):
        _, frame = read_canonical_csv(registry_dir / f"{kind.name}.csv", kind)
        out[kind.name] = frame
    return out


def generate(
    out_dir: Path,
    months: int = DEFAULT_MONTHS,
    end: tuple[int, int] | None = None,
    seed: int = DEFAULT_SEED,
    towns: int = 1,
    registry_dir: Path = REGISTRY_DIR,
) -> GenerateResult:
    """Write ``months`` monthly files per kind (ending at ``end``) plus the registry.

    Layout: ``out_dir/registry/{village,subgrid,service_point,person}.csv`` and
    ``boundaries.geojson``; ``out_dir/YYYY-MM/{activity,attendance,report,deduction}.csv``
    and, in June and December, ``evaluation.csv``.
    """
    if months < 1:
        raise ValueError("months must be ≥ 1")
    if towns < 1:
        raise ValueError("towns must be ≥ 1")
    end = end or last_complete_month()
    month_list = month_range(end, months)
    rng = np.random.default_rng(seed)
    registry = read_registry(registry_dir)
    town = _Town(registry, rng)

    per_month = _generate_town(town, month_list, rng)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(out_dir, [f"{y:04d}-{m:02d}" for y, m in month_list])

    reg_dir = out_dir / "registry"
    reg_dir.mkdir(exist_ok=True)
    for kind in (VILLAGE, SUBGRID, SERVICE_POINT, PERSON):
        frame = _replicate(registry[kind.name], kind, towns)
        path = reg_dir / f"{kind.name}.csv"
        _write(frame, kind, path, english=True)
        result.registry_files.append(path)
        result.rows[path] = frame.height
    _write_boundaries(registry_dir / "boundaries.geojson", reg_dir / "boundaries.geojson", towns)

    kinds = {"activity": ACTIVITY, "attendance": ATTENDANCE, "report": REPORT}
    kinds |= {"evaluation": EVALUATION, "deduction": DEDUCTION}
    for label, frames in zip(result.months, per_month, strict=True):
        month_dir = out_dir / label
        month_dir.mkdir(exist_ok=True)
        for name in FILE_ORDER:
            frame = frames.get(name)
            if frame is None:
                continue
            frame = _replicate(frame, kinds[name], towns)
            path = month_dir / f"{name}.csv"
            _write(frame, kinds[name], path)
            result.files.append(path)
            result.rows[path] = frame.height
    return result


def _generate_town(
    town: _Town, month_list: list[tuple[int, int]], rng: np.random.Generator
) -> list[dict[str, pl.DataFrame]]:
    """All monthly frames for one town, as the office would receive them."""
    activities, attendance = _activities(town, month_list, rng)
    reports = _reports(town, month_list, rng)
    evaluations = _evaluations(town, month_list, rng)
    deductions = _deductions(town, month_list, rng)

    out = []
    for i, (y, m) in enumerate(month_list):
        frames = {}
        frames["activity"] = (
            activities.filter(pl.col("file_month") == i)
            .drop("file_month")
            .sort("activity_date", "activity_id")
        )
        frames["attendance"] = (
            attendance.filter(pl.col("file_month") == i)
            .drop("file_month")
            .sort("activity_id", "person_id")
        )
        frames["report"] = _report_snapshot(reports, y, m, i, len(month_list))
        ev = evaluations.get(i)
        if ev is not None:
            frames["evaluation"] = ev
        frames["deduction"] = deductions.filter(pl.col("file_month") == i).drop("file_month")
        out.append(frames)
    return out


def _activities(
    town: _Town, month_list: list[tuple[int, int]], rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
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
        status, mode, offsets = roll_call(town, roll, kind_, study, day, mi, rng)
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

    for mi, (y, m) in enumerate(month_list):
        season = season_factor(y, m)
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
                roll = _roll_for(town, here, kind_, rng)
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
            "signed_at": _dt(np.concatenate(att_signed)),
            "file_month": pl.Series(np.concatenate(att_month), dtype=pl.Int64),
        }
    ).with_columns(pl.when(pl.col("mode") == "").then(None).otherwise(pl.col("mode")).alias("mode"))
    return activity, attendance


def _organizer(
    town: _Town, village: str, subgrid: str | None, kind_: str, day, rng: np.random.Generator
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


def _roll_for(town: _Town, here: np.ndarray, kind_: str, rng: np.random.Generator) -> np.ndarray:
    """Who is expected at an activity of this kind, among the sub-grid's people."""
    if kind_ in ("主题党日", "学习教育", "组织生活会", "其他"):
        return town.members(here)
    if kind_ == "子网格长接待日":
        lead = town.with_role(here, "子网格长")
        helpers = town.with_role(here, "网格员")
        extra = helpers[rng.random(helpers.size) < 0.3]
        return np.concatenate([lead, extra])
    if kind_ == "网格长巡查":
        return town.with_role(here, "子网格长", "网格员")
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
                mem[rng.random(mem.size) < 0.12 * town.engagement[mem]],
            ]
        )
    raise ValueError(kind_)


def roll_call(
    town: _Town,
    roll: np.ndarray,
    kind_: str,
    study: bool,
    day: date,
    month_index: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status, mode and sign-in offset (seconds from the start) for each person on a roll."""
    n = roll.size
    age = day.year - town.birth[roll]
    elderly = age > 75
    village = town.village[roll[0]]
    vdil = town.village_diligence[village]
    season = season_factor(day.year, day.month) ** 0.5
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


def _reports(town: _Town, month_list: list[tuple[int, int]], rng: np.random.Generator):
    """Every report of the whole range with its full (future-including) lifecycle."""
    cats = list(CATEGORY_WEIGHTS)
    weights = np.array(list(CATEGORY_WEIGHTS.values()))
    weights = weights / weights.sum()
    rows = []
    for mi, (y, m) in enumerate(month_list):
        season = season_factor(y, m)
        ndays = calendar.monthrange(y, m)[1]
        for sg in town.subgrids["subgrid_id"].to_list():
            dil = town.subgrid_diligence[sg]
            count = int(rng.poisson(1.7 * dil * season))
            if count == 0:
                continue
            idx = town.by_subgrid.get(sg, np.array([], dtype=int))
            times = sorted(
                datetime(y, m, int(rng.integers(1, ndays + 1)), int(rng.integers(7, 21)))
                + timedelta(minutes=int(rng.integers(0, 60)))
                for _ in range(count)
            )
            for seq, reported in enumerate(times, start=1):
                here = town.active(idx, np.datetime64(reported.date()))
                pool = town.with_role(here, "网格员", "子网格长", "网格志愿者", "党员")
                weights_p = np.select(
                    [
                        town.role[pool] == "网格员",
                        town.role[pool] == "子网格长",
                        town.role[pool] == "网格志愿者",
                    ],
                    [6.0, 3.0, 1.2],
                    0.15,
                )
                reporter = None
                if pool.size:
                    reporter = str(town.pid[rng.choice(pool, p=weights_p / weights_p.sum())])
                cat = cats[int(rng.choice(len(cats), p=weights))]
                rows.append(
                    (f"MQ{y:04d}{m:02d}-{sg}-{seq:03d}", sg, reporter, cat, reported, mi, dil)
                )

    n = len(rows)
    cat = np.array([r[3] for r in rows], dtype=object)
    dil = np.array([r[6] for r in rows])
    reported = np.array([np.datetime64(r[4], "s") for r in rows])
    fast = cat == "安全稳定"
    slowness = 1.6 - dil  # 0.6 … 1.0: weaker villages are slower

    def delay(table: dict) -> np.ndarray:
        med = np.where(fast, table["安全稳定"][0], table["_"][0]) * slowness
        sigma = np.where(fast, table["安全稳定"][1], table["_"][1])
        hours = np.exp(np.log(med) + sigma * rng.standard_normal(n))
        return (hours * 3600).astype("int64").astype("timedelta64[s]")

    accept = reported + delay(ACCEPT_DELAY)
    verify = accept + delay(VERIFY_DELAY)
    esc_share = np.array([ESCALATE_SHARE.get(c, ESCALATE_SHARE["_"]) for c in cat])
    escalated_mask = rng.random(n) < esc_share
    escalate = np.where(escalated_mask, verify + delay(ESCALATE_DELAY), np.datetime64("NaT"))
    after = np.where(escalated_mask, escalate, verify)
    resolve = after + delay(RESOLVE_DELAY)
    level = np.where(escalated_mask, np.where(rng.random(n) < 0.8, "总网格", "镇"), "子网格")

    never_accepted = rng.random(n) < 0.012
    refused = ~never_accepted & (rng.random(n) < 0.03)
    stays_open = ~never_accepted & ~refused & (rng.random(n) < 0.02)
    nat = np.datetime64("NaT")
    accept = np.where(never_accepted, nat, accept)
    verify = np.where(never_accepted | refused, nat, verify)
    escalate = np.where(never_accepted | refused, nat, escalate)
    resolve = np.where(never_accepted | refused | stays_open, nat, resolve)
    level = np.where(never_accepted | refused, "子网格", level)

    limit_h = np.where(fast, 48.0, 168.0)
    total_h = (resolve - reported).astype("timedelta64[s]").astype("float64") / 3600
    sat = np.round(4.7 - 1.2 * np.clip(total_h / limit_h - 0.5, 0, 2) + rng.normal(0, 0.5, n))
    sat = np.clip(sat, 1, 5)

    summaries = [SUMMARIES[c][int(rng.integers(len(SUMMARIES[c])))] for c in cat]
    return {
        "report_id": [r[0] for r in rows],
        "subgrid_id": [r[1] for r in rows],
        "reporter_id": [r[2] for r in rows],
        "category": list(cat),
        "summary": summaries,
        "reported_at": reported,
        "accepted_at": accept,
        "verified_at": verify,
        "escalated_at": escalate,
        "resolved_at": resolve,
        "handling_level": level,
        "refused": refused,
        "satisfaction": sat,
        "late_entry": rng.random(n) < 0.02,
    }


def _report_snapshot(reports: dict, year: int, month: int, mi: int, nmonths: int) -> pl.DataFrame:
    """The report rows the office files for a month: new reports and those that moved."""
    start = np.datetime64(date(year, month, 1), "s")
    end = np.datetime64(_next_month(year, month), "s")  # exclusive
    reported = reports["reported_at"]
    steps = ("accepted_at", "verified_at", "escalated_at", "resolved_at")

    def within(ts: np.ndarray) -> np.ndarray:
        return ~np.isnat(ts) & (ts >= start) & (ts < end)

    late = reports["late_entry"] & (mi < nmonths - 1)
    prev_start = np.datetime64(_prev_month(year, month), "s")
    filed_late = reports["late_entry"] & (reported >= prev_start) & (reported < start)
    new = within(reported) & ~late
    moved = np.zeros_like(new)
    for s in steps:
        moved |= within(reports[s])
    include = (new | (moved & (reported < start)) | filed_late) & (reported < end)

    def as_of(ts: np.ndarray) -> np.ndarray:
        return np.where(~np.isnat(ts) & (ts < end), ts, np.datetime64("NaT"))

    accepted = as_of(reports["accepted_at"])
    verified = as_of(reports["verified_at"])
    escalated = as_of(reports["escalated_at"])
    resolved = as_of(reports["resolved_at"])
    status = np.where(
        ~np.isnat(resolved),
        "已办结",
        np.where(
            reports["refused"] & ~np.isnat(accepted),
            "不予受理",
            np.where(~np.isnat(accepted), "处理中", "待受理"),
        ),
    )
    level = np.where(~np.isnat(escalated), reports["handling_level"], "子网格")
    satisfaction = np.where(~np.isnat(resolved), reports["satisfaction"], np.nan)

    frame = pl.DataFrame(
        {
            "report_id": reports["report_id"],
            "subgrid_id": reports["subgrid_id"],
            "reporter_id": pl.Series(reports["reporter_id"], dtype=pl.String),
            "category": reports["category"],
            "summary": reports["summary"],
            "reported_at": _dt(reported),
            "accepted_at": _dt(accepted),
            "verified_at": _dt(verified),
            "escalated_at": _dt(escalated),
            "resolved_at": _dt(resolved),
            "handling_level": level,
            "status": status,
            "satisfaction": pl.Series(satisfaction).fill_nan(None).cast(pl.Int64),
        }
    )
    return frame.filter(pl.Series(include)).sort("report_id")


def _dt(values: np.ndarray) -> pl.Series:
    """A Polars datetime column from NumPy seconds (Polars needs ms/us/ns)."""
    return pl.Series(values.astype("datetime64[us]"))


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _prev_month(year: int, month: int) -> date:
    return date(year - (month == 1), (month - 2) % 12 + 1, 1)


def _evaluations(
    town: _Town, month_list: list[tuple[int, int]], rng: np.random.Generator
) -> dict[int, pl.DataFrame]:
    """Half-year survey scores, filed in the month that closes each half-year."""
    out = {}
    members = town.members(np.arange(len(town.pid)))
    for mi, (y, m) in enumerate(month_list):
        if m not in (6, 12):
            continue
        period = f"{y}H{1 if m == 6 else 2}"
        period_end = np.datetime64(date(y, m, calendar.monthrange(y, m)[1]))
        skipped = {v for v, d in town.village_diligence.items() if d < 0.75 and rng.random() < 0.3}
        rows = []
        for sg in town.subgrids["subgrid_id"].to_list():
            if town.subgrid_village[sg] in skipped:
                continue
            dil = town.subgrid_diligence[sg]
            for rater, bonus in (("自评", 4.0), ("党员群众测评", 0.0), ("上级考评", -1.0)):
                score = float(np.clip(58 + 38 * dil + bonus + rng.normal(0, 4), 0, 100))
                rows.append((period, sg, "堡垒指数", rater, round(score, 1)))
        surveyed = town.active(members, period_end)
        for i in surveyed:
            if town.village[i] in skipped:
                continue
            base = 60 + 32 * town.engagement[i]
            for rater, bonus in (("自评", 3.0), ("党员群众测评", 0.0)):
                score = float(np.clip(base + bonus + rng.normal(0, 5), 0, 100))
                rows.append((period, str(town.pid[i]), "先锋指数", rater, round(score, 1)))
        out[mi] = pl.DataFrame(
            rows,
            schema=["period", "unit_id", "index_name", "rater", "score"],
            orient="row",
        ).sort("unit_id", "index_name", "rater")
    return out


def _deductions(
    town: _Town, month_list: list[tuple[int, int]], rng: np.random.Generator
) -> pl.DataFrame:
    rows = []
    members = town.members(np.arange(len(town.pid)))
    for mi, (y, m) in enumerate(month_list):
        ndays = calendar.monthrange(y, m)[1]
        for sg in town.subgrids["subgrid_id"].to_list():
            if rng.random() < 0.06 * (1.6 - town.subgrid_diligence[sg]):
                item, points = DEDUCTION_ITEMS["subgrid"][
                    int(rng.integers(len(DEDUCTION_ITEMS["subgrid"])))
                ]
                rows.append((date(y, m, int(rng.integers(1, ndays + 1))), sg, item, points, mi))
        day = np.datetime64(date(y, m, 15))
        active = town.active(members, day)
        for i in active[rng.random(active.size) < 0.0015]:
            item, points = DEDUCTION_ITEMS["person"][
                int(rng.integers(len(DEDUCTION_ITEMS["person"])))
            ]
            rows.append(
                (date(y, m, int(rng.integers(1, ndays + 1))), str(town.pid[i]), item, points, mi)
            )
    return pl.DataFrame(
        rows,
        schema={
            "deduction_date": pl.Date,
            "unit_id": pl.String,
            "item": pl.String,
            "points": pl.Int64,
            "file_month": pl.Int64,
        },
        orient="row",
    ).sort("deduction_date", "unit_id", "item")


def town_prefix(index: int) -> str:
    """Id prefix of the ``index``-th replica (0 is the original town)."""
    return "" if index == 0 else f"T{index:03d}-"


def _replicate(frame: pl.DataFrame, kind: Kind, towns: int) -> pl.DataFrame:
    if towns == 1:
        return frame
    id_cols = [c for c in ID_COLUMNS[kind.name] if c in frame.columns]
    parts = [frame]
    for k in range(1, towns):
        prefix = town_prefix(k)
        exprs = [(pl.lit(prefix) + pl.col(c)).alias(c) for c in id_cols]
        if kind.name == "village":
            exprs.append(pl.lit(f"示例镇{k:03d}").alias("town_name"))
        parts.append(frame.with_columns(exprs))
    return pl.concat(parts)


def _write(frame: pl.DataFrame, kind: Kind, path: Path, english: bool = False) -> None:
    """Write a frame in the canonical file format of its kind."""
    exprs = []
    for c in kind.columns:
        col = pl.col(c.name) if c.name in frame.columns else pl.lit(None, dtype=pl.String)
        if c.dtype == "bool":
            col = pl.when(col).then(pl.lit(BOOL_TRUE)).otherwise(pl.lit(BOOL_FALSE))
        elif c.dtype == "date":
            col = col.dt.strftime(DATE_FORMAT)
        elif c.dtype == "timestamp":
            col = col.dt.strftime(TIMESTAMP_FORMAT)
        elif c.dtype == "float" and kind.name in ("village", "subgrid", "service_point"):
            col = col.round(6)
        exprs.append(col.alias(c.name if english else c.header))
    frame.select(exprs).write_csv(path, null_value="", line_terminator="\n")


def _write_boundaries(source: Path, target: Path, towns: int) -> None:
    if towns == 1:
        shutil.copyfile(source, target)
        return
    collection = json.loads(source.read_text(encoding="utf-8"))
    features = []
    for k in range(towns):
        prefix = town_prefix(k)
        dx, dy = (k % 15) * 0.13, -(k // 15) * 0.09  # degrees: towns side by side
        for feature in collection["features"]:
            props = dict(feature["properties"])
            for key in ("unit_id", "village_id"):
                if props.get(key):
                    props[key] = prefix + props[key]
            geometry = _shift(feature["geometry"], dx, dy)
            features.append({"type": "Feature", "properties": props, "geometry": geometry})
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    target.write_text(text, encoding="utf-8")


def _shift(geometry: dict, dx: float, dy: float) -> dict:
    def move(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0] + dx, 6), round(coords[1] + dy, 6)]
        return [move(c) for c in coords]

    return {"type": geometry["type"], "coordinates": move(geometry["coordinates"])}
