"""Where things are placed on the map: label points of the units, service points.

A unit's label point (its coordinates in the registry) is its pole of inaccessibility;
a 党群服务站 lies near its village's label point, each 党群服务点 near the label point of
the sub-grid its 党支部 serves.
"""

from __future__ import annotations

import math
import random

from shapely.geometry import Point, Polygon
from shapely.ops import polylabel

from etl.registry_build.coordinates import geometry_to_km, local_km, rounded, to_lonlat
from etl.registry_build.files import coordinate_text
from etl.registry_build.organisation import CHINESE_ORDINALS, VillageSpec, subgrid_ids


def label_point(poly: Polygon) -> tuple[float, float]:
    """Pole of inaccessibility (computed in km), rounded, guaranteed inside ``poly``."""
    p = polylabel(geometry_to_km(poly), tolerance=0.002)
    lon, lat = rounded(*to_lonlat(p.x, p.y))
    if not poly.contains(Point(lon, lat)):  # pragma: no cover - defensive
        q = poly.representative_point()
        lon, lat = rounded(q.x, q.y)
    assert poly.contains(Point(lon, lat))
    return lon, lat


def point_near(
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
            lon, lat = rounded(*to_lonlat(x, y))
            if poly.contains(Point(lon, lat)):
                return lon, lat
    return near  # pragma: no cover - the label point itself is inside


def service_point_rows(
    v: VillageSpec,
    village: Polygon,
    village_label: tuple[float, float],
    subgrids: dict[str, Polygon],
    subgrid_labels: dict[str, tuple[float, float]],
    rng: random.Random,
) -> list[list[str]]:
    """A village's 党群服务站 and its 党群服务点 (one per 党支部), as CSV rows."""
    station = point_near(village, village_label, 0.4, rng)
    rows = [
        [f"{v.village_id}-S", v.village_id, "服务站", "党群服务站", *map(coordinate_text, station)]
    ]
    sids = subgrid_ids(v)
    for b in range(v.branches):
        # Branches spread over the village: branch b sits in an evenly spaced sub-grid.
        sid = sids[(b * len(sids)) // v.branches]
        spot = point_near(subgrids[sid], subgrid_labels[sid], 0.3, rng)
        branch = "党支部" if v.branches == 1 else f"第{CHINESE_ORDINALS[b]}党支部"
        name = f"{branch}党群服务点"
        rows.append(
            [f"{v.village_id}-P{b + 1}", v.village_id, "服务点", name, *map(coordinate_text, spot)]
        )
    return rows
