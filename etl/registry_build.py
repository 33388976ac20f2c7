"""Deterministic builder of the shipped registry of 漕泾镇 (``data/registry/``).

``python -m etl.registry_build [--out data/registry] [--seed 2026]`` writes

- ``village.csv`` — the 14 村居 (11 村 + 3 社区), ids ``CJ01``…``CJ14``;
- ``subgrid.csv`` — the 89 党建子网格, ids ``CJ03-01``…;
- ``service_point.csv`` — 14 村居党群服务站 (``CJ03-S``) and 23 党群服务点, one per 党支部
  including second-level branches (``CJ03-P1``…);
- ``person.csv`` — the six-level team and the party members: 14 督导员 (``CJ-L01``…),
  per village 1 总网格长 and 2–4 网格指导员, per sub-grid 1 子网格长 and about one 网格员
  per ten party members, the other party members (role 党员), and 416 网格志愿者;
- ``boundaries.geojson`` — illustrative polygons of the town, the villages and the
  sub-grids (WGS84).

The numbers reproduce DESIGN §2. Everything else is synthetic but plausible: names,
birth years, dates, coordinates and boundaries are drawn from seeded generators, so the
same seed always gives byte-identical files (no clock, no hash order, no set order).

Decisions worth knowing:

- 是否党员 means a member whose party relationship is in this town's grid organisation
  — the study-coverage denominator; 在职党员/结对单位党员 volunteers belong to
  organisations elsewhere, so every 网格志愿者 row has ``is_party_member`` = 否.
- The names of two villages and one community are not public. They ship as
  placeholders (``is_placeholder`` = 是) with ids ``CJ12``–``CJ14``. Sub-grid and
  service-point names do not repeat the village name (``第1网格``, ``党群服务站``): the UI
  shows them under their village, so renaming a village means editing one CSV.
- No public boundaries exist. The town outline is a seeded irregular shape of 60.4 km²
  around the town centre with the Hangzhou Bay coast along its south side; villages are
  Lloyd-relaxed Voronoi cells clipped to the outline and sub-grids are Voronoi cells
  inside each village. All polygons are built in a local metric plane, then converted to
  lon/lat and snap-rounded together onto the 1e-6° grid as one planar arrangement, so
  that after rounding the sub-grids tile their village and the villages tile the town
  exactly (shared edges have identical vertices).
- A person's ``active_from``/``active_to`` bound the months in which the person counts
  in denominators; about 4 % joined after 2024-10 and about 3 % left since then.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.ops import polylabel

REGISTRY_DIR = Path(__file__).resolve().parent.parent / "data" / "registry"

TOWN_ID = "CJ"
TOWN_NAME = "漕泾镇"
CENTER_LON = 121.420
CENTER_LAT = 30.793
KM_PER_DEG_LON = math.cos(math.radians(CENTER_LAT)) * 111.32
KM_PER_DEG_LAT = 110.57
TOWN_AREA_KM2 = 60.4
GRID_DEG = 1e-6  # coordinates are written with 6 decimals
DEFAULT_SEED = 2026

TARGET_PARTY_MEMBERS = 2403  # all is_party_member rows, 督导员 included
VOLUNTEER_COUNTS = (("在职党员", 150), ("结对单位党员", 100), ("新乡贤", 80), ("埭长", 86))

YES, NO = "是", "否"

VILLAGE_COLUMNS = (
    "village_id",
    "town_id",
    "town_name",
    "name",
    "kind",
    "is_placeholder",
    "lon",
    "lat",
)
SUBGRID_COLUMNS = ("subgrid_id", "village_id", "name", "lon", "lat")
POINT_COLUMNS = ("place_id", "village_id", "kind", "name", "lon", "lat")
PERSON_COLUMNS = (
    "person_id",
    "name",
    "gender",
    "birth_year",
    "village_id",
    "subgrid_id",
    "is_party_member",
    "role",
    "volunteer_type",
    "active_from",
    "active_to",
)

# The window of "recent" changes in the roster: joins and departures in it are what
# makes monthly denominators move.
RECENT_FROM = date(2024, 11, 1)
RECENT_JOIN_TO = date(2026, 10, 31)
LEAVE_TO = date(2026, 9, 30)
LONG_STANDING_TO = date(2024, 10, 31)


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
_BY_ID = {v.village_id: v for v in VILLAGES}

CHINESE_ORDINALS = "一二三四五六七八九十"


# --------------------------------------------------------------------------- coordinates


def local_km(lon, lat):
    """WGS84 lon/lat (floats or NumPy arrays) → (x, y) km in the town's local plane."""
    return (lon - CENTER_LON) * KM_PER_DEG_LON, (lat - CENTER_LAT) * KM_PER_DEG_LAT


def to_lonlat(x, y):
    """Local-plane (x, y) km (floats or NumPy arrays) → WGS84 (lon, lat)."""
    return CENTER_LON + x / KM_PER_DEG_LON, CENTER_LAT + y / KM_PER_DEG_LAT


def geometry_to_km(geom):
    """A shapely geometry in lon/lat → the same geometry in the local km plane."""

    def f(c: np.ndarray) -> np.ndarray:
        x, y = local_km(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


def geometry_to_lonlat(geom):
    """A shapely geometry in the local km plane → the same geometry in lon/lat."""

    def f(c: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat(c[:, 0], c[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, f)


def _rounded(lon: float, lat: float) -> tuple[float, float]:
    return round(lon, 6), round(lat, 6)


# --------------------------------------------------------------------------- geometry


def _town_outline(rng: random.Random) -> Polygon:
    """An irregular outline of 60.4 km² centred on the origin, coast along the south.

    The coast is a gently wavy curve; the inland border runs along creeks and roads:
    long, slightly bent stretches between jittered corner points.
    """
    phase1, phase2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)

    def coast_y(x: float) -> float:
        return (
            -3.0
            - 0.03 * x
            + 0.10 * math.sin(2 * math.pi * x / 3.7 + phase1)
            + 0.04 * math.sin(2 * math.pi * x / 2.1 + phase2)
        )

    west_end, east_end = -4.7, 4.6
    steps = 50
    south = [(west_end + (east_end - west_end) * i / steps, 0.0) for i in range(steps + 1)]
    south = [(x, coast_y(x)) for x, _ in south]
    corners = [
        (4.3, -1.1), (4.45, 0.7), (4.2, 2.45),  # east, along the chemical park
        (2.7, 3.1), (0.9, 2.95), (-0.5, 3.2), (-2.1, 3.05), (-3.5, 3.15),  # north
        (-4.45, 2.35), (-4.6, 0.6), (-4.45, -1.2),  # west
    ]  # fmt: skip
    corners = [(x + rng.uniform(-0.12, 0.12), y + rng.uniform(-0.12, 0.12)) for x, y in corners]
    inland = [south[-1], *corners, south[0]]
    ring = list(south)
    for (x0, y0), (x1, y1) in itertools.pairwise(inland):
        length = math.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        for t in (1 / 3, 2 / 3):
            off = rng.uniform(-0.08, 0.08)
            ring.append((x0 + t * (x1 - x0) + off * nx, y0 + t * (y1 - y0) + off * ny))
        if (x1, y1) != south[0]:
            ring.append((x1, y1))
    outline = Polygon(ring)
    assert outline.is_valid, "town outline must be a simple polygon"
    scale = math.sqrt(TOWN_AREA_KM2 / outline.area)
    outline = affinity.scale(outline, scale, scale, origin=(0.0, 0.0))
    c = outline.centroid
    return affinity.translate(outline, -c.x, -c.y)


def _polygon_parts(geom) -> list[Polygon]:
    """The non-empty polygons inside any geometry (collections are flattened)."""
    out: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            if part.area > 0:
                out.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygon_parts(part))
    return out


def _merge_fragments(cells: list) -> list[Polygon]:
    """Make every cell one Polygon: detached pieces join the neighbour they touch most."""
    result: list = []
    fragments: list[tuple[int, Polygon]] = []
    for i, cell in enumerate(cells):
        parts = sorted(_polygon_parts(cell), key=lambda p: -p.area)
        result.append(parts[0])
        fragments.extend((i, p) for p in parts[1:])
    for i, frag in fragments:
        ring = frag.boundary

        def shared(j: int, ring=ring) -> float:
            return shapely.intersection(ring, result[j].buffer(1e-9)).length

        best = max((j for j in range(len(result)) if j != i), key=shared)
        result[best] = shapely.union(result[best], frag)
    out = []
    for cell in result:
        parts = sorted(_polygon_parts(cell), key=lambda p: -p.area)
        out.append(parts[0])
    return out


def _voronoi_cells(points: list[tuple[float, float]], region: Polygon) -> list:
    extent = shapely.box(*region.bounds).buffer(20.0)
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=extent, ordered=True)
    return [shapely.intersection(c, region) for c in shapely.get_parts(diagram)]


def _random_points(region: Polygon, n: int, rng: random.Random) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = region.bounds
    spacing = 0.5 * math.sqrt(region.area / n)
    points: list[tuple[float, float]] = []
    tries = 0
    while len(points) < n:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not region.contains(Point(x, y)):
            continue
        if tries < 20000 and any(math.hypot(x - a, y - b) < spacing for a, b in points):
            continue
        points.append((x, y))
    return points


def _lloyd_cells(
    region: Polygon, n: int, rng: random.Random, steps: int
) -> tuple[list[tuple[float, float]], list[Polygon]]:
    """n Voronoi cells tiling ``region``, their seeds relaxed ``steps`` times (Lloyd)."""
    points = _random_points(region, n, rng)
    for _ in range(steps):
        moved = []
        for cell in _voronoi_cells(points, region):
            c = cell.centroid
            if not region.contains(c):
                c = cell.representative_point()
            moved.append((c.x, c.y))
        points = moved
    return points, _merge_fragments(_voronoi_cells(points, region))


def _assign_villages(outline: Polygon, cells: list[Polygon]) -> dict[str, Polygon]:
    """Give the 14 cells their village ids: communities near the centre, coast names
    on the coast, 水库村 in the north-west, the rest clockwise from the north."""
    coast = LineString([(x, y) for x, y in outline.exterior.coords if y < outline.bounds[1] + 0.8])
    free = list(range(len(cells)))
    chosen: dict[str, int] = {}

    def centre(i: int) -> tuple[float, float]:
        c = cells[i].centroid
        return c.x, c.y

    def take(vid: str, key: Callable[[int], float]) -> None:
        best = min(free, key=key)
        free.remove(best)
        chosen[vid] = best

    for vid in ("CJ01", "CJ02", "CJ14"):
        take(vid, lambda i: math.hypot(*centre(i)))
    coastal = [
        i for i in free if shapely.intersection(cells[i].boundary, coast.buffer(1e-6)).length > 0.5
    ]
    if len(coastal) < 3:
        coastal = sorted(free, key=lambda i: centre(i)[1])[:3]
    coastal.sort(key=lambda i: centre(i)[0])
    for vid, i in (
        ("CJ07", coastal[-1]),
        ("CJ11", coastal[0]),
        ("CJ06", coastal[len(coastal) // 2]),
    ):
        free.remove(i)
        chosen[vid] = i
    take("CJ05", lambda i: centre(i)[0] - centre(i)[1])

    def bearing(i: int) -> float:
        x, y = centre(i)
        return math.atan2(x, y) % (2 * math.pi)

    rest = sorted(free, key=bearing)
    for vid, i in zip(("CJ03", "CJ04", "CJ08", "CJ09", "CJ10", "CJ12", "CJ13"), rest, strict=True):
        chosen[vid] = i
    return {v.village_id: cells[chosen[v.village_id]] for v in VILLAGES}


def _order_cells(cells: list[Polygon], region: Polygon) -> list[Polygon]:
    """Number sub-grids clockwise from the north around the village centre."""
    c = region.centroid

    def bearing(p: Polygon) -> float:
        q = p.centroid
        return math.atan2(q.x - c.x, q.y - c.y) % (2 * math.pi)

    return sorted(cells, key=bearing)


def _snap_partition(cells_km: list[Polygon], groups: list[int]) -> list[Polygon]:
    """Convert a tiling (km plane) to lon/lat on the 1e-6° grid, keeping it a tiling.

    All cell boundaries are noded together with snap rounding, the noded lines are
    polygonised into faces, and each cell becomes the union of the faces it covers
    most. Neighbours therefore share identical edges. ``groups`` says which cells may
    trade slivers (cells of the same village).
    """
    cells_ll = [geometry_to_lonlat(c) for c in cells_km]
    noded = shapely.union_all([c.boundary for c in cells_ll], grid_size=GRID_DEG)
    faces = list(shapely.get_parts(shapely.polygonize(list(shapely.get_parts(noded)))))
    tree = shapely.STRtree(cells_ll)
    members: list[list[Polygon]] = [[] for _ in cells_ll]
    for face in faces:
        candidates = sorted(int(k) for k in tree.query(face))
        if not candidates:
            candidates = [int(tree.nearest(face))]
        best = max(candidates, key=lambda k: shapely.intersection(face, cells_ll[k]).area)
        members[best].append(face)
    result = [shapely.union_all(m, grid_size=GRID_DEG) for m in members]
    # A cell may come out in pieces if snapping cut off a sliver: hand the small pieces
    # to the neighbour (same group) that shares the longest edge with them.
    for i, geom in enumerate(result):
        parts = sorted(_polygon_parts(geom), key=lambda p: -p.area)
        if len(parts) == 1:
            result[i] = parts[0]
            continue
        result[i] = parts[0]
        for frag in parts[1:]:
            others = [j for j in range(len(result)) if j != i and groups[j] == groups[i]]
            best = max(others, key=lambda j: shapely.intersection(frag, result[j]).length)
            result[best] = shapely.union(result[best], frag, grid_size=GRID_DEG)
    for geom in result:
        assert isinstance(geom, Polygon) and geom.is_valid, "snapped cell must be a polygon"
    return result


@dataclass
class Geometry:
    """The built boundaries, in lon/lat on the 1e-6° grid."""

    town: Polygon
    villages: dict[str, Polygon]
    subgrids: dict[str, Polygon]  # subgrid_id → polygon


def _subgrid_ids(v: VillageSpec) -> list[str]:
    return [f"{v.village_id}-{k:02d}" for k in range(1, v.subgrids + 1)]


def build_geometry(seed: int = DEFAULT_SEED) -> Geometry:
    """Town outline, village cells and sub-grid cells, snapped together onto the grid."""
    rng = random.Random(f"{seed}:geometry")
    outline = _town_outline(rng)
    _, cells = _lloyd_cells(outline, len(VILLAGES), rng, steps=6)
    villages_km = _assign_villages(outline, cells)
    flat: list[Polygon] = []
    groups: list[int] = []
    ids: list[str] = []
    for gi, v in enumerate(VILLAGES):
        region = villages_km[v.village_id]
        _, sub = _lloyd_cells(region, v.subgrids, rng, steps=4)
        for sid, cell in zip(_subgrid_ids(v), _order_cells(sub, region), strict=True):
            flat.append(cell)
            groups.append(gi)
            ids.append(sid)
    snapped = _snap_partition(flat, groups)
    subgrids = dict(zip(ids, snapped, strict=True))
    villages = {
        v.village_id: shapely.union_all([subgrids[s] for s in _subgrid_ids(v)], grid_size=GRID_DEG)
        for v in VILLAGES
    }
    town = shapely.union_all(list(villages.values()), grid_size=GRID_DEG)
    for geom in (town, *villages.values()):
        assert isinstance(geom, Polygon) and geom.is_valid, "village/town must be a polygon"
    return Geometry(town, villages, subgrids)


def _label_point(poly: Polygon) -> tuple[float, float]:
    """Pole of inaccessibility (computed in km), rounded, guaranteed inside ``poly``."""
    p = polylabel(geometry_to_km(poly), tolerance=0.002)
    lon, lat = _rounded(*to_lonlat(p.x, p.y))
    if not poly.contains(Point(lon, lat)):  # pragma: no cover - defensive
        q = poly.representative_point()
        lon, lat = _rounded(q.x, q.y)
    assert poly.contains(Point(lon, lat))
    return lon, lat


def _point_near(
    poly: Polygon, near: tuple[float, float], radius_km: float, rng: random.Random
) -> tuple[float, float]:
    """A random rounded point inside ``poly`` (≥ 60 m from its edge) near ``near``."""
    km = geometry_to_km(poly)
    inner = km.buffer(-0.06)
    if inner.is_empty:  # pragma: no cover - cells are far larger than this
        inner = km
    cx, cy = local_km(*near)
    for _ in range(5000):
        r = radius_km * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        if inner.contains(Point(x, y)):
            lon, lat = _rounded(*to_lonlat(x, y))
            if poly.contains(Point(lon, lat)):
                return lon, lat
    return near  # pragma: no cover - the label point itself is inside


# --------------------------------------------------------------------------- people

SURNAMES = (
    ("张", 9), ("王", 8), ("陈", 8), ("沈", 7), ("徐", 7), ("朱", 6), ("顾", 6), ("陆", 6),
    ("李", 5), ("周", 5), ("吴", 5), ("杨", 5), ("金", 4), ("黄", 4), ("钱", 4), ("蒋", 3),
    ("姚", 3), ("孙", 3), ("曹", 3), ("倪", 3), ("龚", 2), ("潘", 2), ("胡", 2), ("冯", 2),
    ("范", 2), ("俞", 2), ("许", 2), ("马", 2), ("唐", 2), ("卫", 2), ("蔡", 2), ("施", 2),
    ("宋", 1), ("庄", 1), ("盛", 1), ("戴", 1), ("夏", 1), ("屠", 1), ("邱", 1), ("汤", 1),
)  # fmt: skip
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_WEIGHTS = [w for _, w in SURNAMES]
GIVEN = {
    ("男", "old"): "根林福荣金龙海兴德华忠国建明生宝祥发才云昌富良财弟泉新平仁义水元",
    ("男", "young"): "杰俊磊浩伟涛晨宇峰斌军勇强鑫超亮敏健辉波刚飞骏毅凯阳鹏翔振华明东",
    ("女", "old"): "英妹珍凤秀芳兰娟玉梅菊琴花宝金彩美娣芬云林月仙",
    ("女", "young"): "婷雯佳静燕丽颖倩怡琳洁艳敏红霞莉萍蕾晶瑾悦雪慧娜雁",
}


def _name(rng: random.Random, gender: str, birth_year: int) -> str:
    surname = rng.choices(_SURNAME_CHARS, weights=_SURNAME_WEIGHTS)[0]

    def char() -> str:
        if birth_year < 1965:
            era = "old"
        elif birth_year >= 1985:
            era = "young"
        else:
            era = rng.choice(("old", "young"))
        return rng.choice(GIVEN[(gender, era)])

    if rng.random() < (0.12 if birth_year < 1965 else 0.3):
        return surname + char()
    first = char()
    second = char()
    while second == first:
        second = char()
    return surname + first + second


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
        for sid in _subgrid_ids(v):
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
    all_sg = [(v, sid) for v in VILLAGES for sid in _subgrid_ids(v)]
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
        sids = _subgrid_ids(v)
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
            "name": _name(rng, gender, birth),
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


# --------------------------------------------------------------------------- writing


def _csv_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def _ring(coords) -> list[list[float]]:
    return [[round(x, 6), round(y, 6)] for x, y in coords]


def _geojson_geometry(poly: Polygon) -> dict:
    poly = shapely.orient_polygons(poly, exterior_cw=False)  # RFC 7946: exterior CCW
    rings = [_ring(poly.exterior.coords)] + [_ring(r.coords) for r in poly.interiors]
    return {"type": "Polygon", "coordinates": rings}


def _feature(level: str, unit_id: str, village_id: str | None, name: str, poly: Polygon):
    return {
        "type": "Feature",
        "properties": {
            "level": level,
            "unit_id": unit_id,
            "village_id": village_id,
            "name": name,
            "illustrative": True,
        },
        "geometry": _geojson_geometry(poly),
    }


def _geojson_text(features: list[dict]) -> str:
    """A FeatureCollection with one feature per line (valid JSON, diff-friendly)."""
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    return '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def build_registry(out_dir: Path, seed: int = DEFAULT_SEED) -> None:
    """Build the registry files (see the module docstring) into ``out_dir``."""
    assert sum(v.subgrids for v in VILLAGES) == 89
    assert sum(v.branches for v in VILLAGES) == 23
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geo = build_geometry(seed)
    rng = random.Random(f"{seed}:points")

    village_rows: list[list[str]] = []
    subgrid_rows: list[list[str]] = []
    point_rows: list[list[str]] = []
    features = [_feature("town", TOWN_ID, None, TOWN_NAME, geo.town)]
    subgrid_features = []
    for v in VILLAGES:
        poly = geo.villages[v.village_id]
        label = _label_point(poly)
        flag = YES if v.is_placeholder else NO
        village_rows.append(
            [v.village_id, TOWN_ID, TOWN_NAME, v.name, v.kind, flag, *map(_fmt, label)]
        )
        features.append(_feature("village", v.village_id, v.village_id, v.name, poly))
        sids = _subgrid_ids(v)
        labels: dict[str, tuple[float, float]] = {}
        for k, sid in enumerate(sids, start=1):
            name = f"第{k}网格"
            labels[sid] = _label_point(geo.subgrids[sid])
            subgrid_rows.append([sid, v.village_id, name, *map(_fmt, labels[sid])])
            subgrid_features.append(_feature("subgrid", sid, v.village_id, name, geo.subgrids[sid]))
        station = _point_near(poly, label, 0.4, rng)
        point_rows.append(
            [
                f"{v.village_id}-S",
                v.village_id,
                "服务站",
                "党群服务站",
                *map(_fmt, station),
            ]
        )
        for b in range(v.branches):
            # Branches spread over the village: branch b sits in an evenly spaced sub-grid.
            sid = sids[(b * len(sids)) // v.branches]
            spot = _point_near(geo.subgrids[sid], labels[sid], 0.3, rng)
            branch = "党支部" if v.branches == 1 else f"第{CHINESE_ORDINALS[b]}党支部"
            name = f"{branch}党群服务点"
            point_rows.append(
                [f"{v.village_id}-P{b + 1}", v.village_id, "服务点", name, *map(_fmt, spot)]
            )
    features += subgrid_features

    people = build_people(seed)
    _write(out_dir / "village.csv", _csv_text(VILLAGE_COLUMNS, village_rows))
    _write(out_dir / "subgrid.csv", _csv_text(SUBGRID_COLUMNS, subgrid_rows))
    _write(out_dir / "service_point.csv", _csv_text(POINT_COLUMNS, point_rows))
    _write(
        out_dir / "person.csv",
        _csv_text(PERSON_COLUMNS, [[r[c] for c in PERSON_COLUMNS] for r in people]),
    )
    _write(out_dir / "boundaries.geojson", _geojson_text(features))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etl.registry_build",
        description="Build the registry of 漕泾镇 (villages, sub-grids, service points, "
        "people, illustrative boundaries) deterministically from a seed.",
    )
    parser.add_argument("--out", type=Path, default=REGISTRY_DIR, help="output directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    build_registry(args.out, args.seed)
    print(f"registry written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
