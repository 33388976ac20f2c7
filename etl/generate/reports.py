"""民情 reports: each one's whole life, then the state each month's file holds.

Diligence drives how many issues are reported and how fast they are handled. Each
report's accept, verify, escalate and resolve delays are log-normal (安全稳定 fastest),
some run past their limit, a few are refused (不予受理: the time of the refusal in
受理时间 and nothing after it), and a few stall: left 待受理 or 处理中 for weeks to a
few months before they move on (never for years: an office chases what it has on its
督办清单, so what is open at the end of the data is recent). A month's file holds the
state at the end of that month: a report still open then comes back, same id, in the
file of the month of its next step (latest state wins on load).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from etl.generate.seasons import season_factor
from etl.generate.town import Town, datetime_column
from store.months import add_months

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
# How long a stalled report waits (days, uniform): past every limit, never for years.
STALL_DAYS = (20.0, 110.0)


def reports(town: Town, month_list: list[date], rng: np.random.Generator) -> dict:
    """Every report of the whole range with its full (future-including) lifecycle, as
    columns (NumPy arrays and lists) for :func:`report_snapshot`."""
    cats = list(CATEGORY_WEIGHTS)
    weights = np.array(list(CATEGORY_WEIGHTS.values()))
    weights = weights / weights.sum()
    rows = []
    for mi, month in enumerate(month_list):
        y, m = month.year, month.month
        season = season_factor(month)
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
                    0.35,
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

    stalls_unaccepted = rng.random(n) < 0.012
    refused = ~stalls_unaccepted & (rng.random(n) < 0.03)
    stalls_open = ~stalls_unaccepted & ~refused & (rng.random(n) < 0.02)
    nat = np.datetime64("NaT")
    verify = np.where(refused, nat, verify)
    escalate = np.where(refused, nat, escalate)
    resolve = np.where(refused, nat, resolve)
    level = np.where(refused, "子网格", level)
    # A stalled report waits STALL_DAYS before its next step, then moves on as usual.
    stall = (rng.uniform(*STALL_DAYS, n) * 86400).astype("int64").astype("timedelta64[s]")
    accept = np.where(stalls_unaccepted, accept + stall, accept)
    shift = np.where(stalls_unaccepted | stalls_open, stall, np.timedelta64(0, "s"))
    verify = np.where(stalls_unaccepted, verify + stall, verify)
    escalate = np.where(stalls_unaccepted, escalate + stall, escalate)
    resolve = resolve + shift

    limit_h = np.where(fast, 48.0, 168.0)
    total_h = (resolve - reported).astype("timedelta64[s]").astype("float64") / 3600
    sat = np.round(4.7 - 1.2 * np.clip(total_h / limit_h - 0.5, 0, 2) + rng.normal(0, 0.5, n))
    sat = np.clip(sat, 1, 5)

    summaries = [SUMMARIES[c][int(rng.integers(len(SUMMARIES[c])))] for c in cat]
    late_entry = rng.random(n) < 0.02
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
        "late_entry": late_entry,
    }


def report_snapshot(reports: dict, month: date, mi: int, nmonths: int) -> pl.DataFrame:
    """The report rows the office files for ``month`` (the ``mi``-th of ``nmonths``):
    new reports and those that moved."""
    start = np.datetime64(month, "s")
    end = np.datetime64(add_months(month, 1), "s")  # exclusive
    reported = reports["reported_at"]
    steps = ("accepted_at", "verified_at", "escalated_at", "resolved_at")

    def within(ts: np.ndarray) -> np.ndarray:
        return ~np.isnat(ts) & (ts >= start) & (ts < end)

    late = reports["late_entry"] & (mi < nmonths - 1)
    prev_start = np.datetime64(add_months(month, -1), "s")
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
            "reported_at": datetime_column(reported),
            "accepted_at": datetime_column(accepted),
            "verified_at": datetime_column(verified),
            "escalated_at": datetime_column(escalated),
            "resolved_at": datetime_column(resolved),
            "handling_level": level,
            "status": status,
            "satisfaction": pl.Series(satisfaction).fill_nan(None).cast(pl.Int64),
        }
    )
    return frame.filter(pl.Series(include)).sort("report_id")
