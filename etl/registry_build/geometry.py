"""The illustrative boundaries: the town outline, village cells, sub-grid cells.

No public boundaries exist. The town outline is a seeded irregular shape of 60.4 km²
around the town centre with the Hangzhou Bay coast along its south side; villages are
Lloyd-relaxed Voronoi cells clipped to the outline and sub-grids are Voronoi cells
inside each village. All polygons are built in a local metric plane, then converted to
lon/lat and snap-rounded together onto the 1e-6° grid as one planar arrangement, so
that after rounding the sub-grids tile their village and the villages tile the town
exactly (shared edges have identical vertices).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from etl.registry_build.coordinates import GRID_DEG, geometry_to_lonlat
from etl.registry_build.organisation import DEFAULT_SEED, VILLAGES, subgrid_ids

TOWN_AREA_KM2 = 60.4


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
        for sid, cell in zip(subgrid_ids(v), _order_cells(sub, region), strict=True):
            flat.append(cell)
            groups.append(gi)
            ids.append(sid)
    snapped = _snap_partition(flat, groups)
    subgrids = dict(zip(ids, snapped, strict=True))
    villages = {
        v.village_id: shapely.union_all([subgrids[s] for s in subgrid_ids(v)], grid_size=GRID_DEG)
        for v in VILLAGES
    }
    town = shapely.union_all(list(villages.values()), grid_size=GRID_DEG)
    for geom in (town, *villages.values()):
        assert isinstance(geom, Polygon) and geom.is_valid, "village/town must be a polygon"
    return Geometry(town, villages, subgrids)
