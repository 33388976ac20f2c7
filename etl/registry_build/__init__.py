"""Deterministic builder of the shipped registry of 漕泾镇 (``data/registry/``).

``python -m etl.registry_build [--out data/registry] [--seed 2026]`` writes

- ``village.csv`` — the 14 村居 (11 村 + 3 社区), ids ``CJ01``…``CJ14``;
- ``subgrid.csv`` — the 89 党建子网格, ids ``CJ03-01``…;
- ``service_point.csv`` — 14 村居党群服务站 (``CJ03-S``) and 23 党群服务点, one per 党支部
  including second-level branches (``CJ03-P1``…);
- ``person.csv`` — the six-level team and the party members (:mod:`.people`);
- ``boundaries.geojson`` — illustrative polygons of the town, the villages and the
  sub-grids (WGS84; :mod:`.geometry`).

The numbers reproduce the town's organisation (:mod:`.organisation`; docs/data.md).
Everything else is synthetic but plausible: names, birth years, dates, coordinates and
boundaries are drawn from seeded generators, so the same seed always gives
byte-identical files (no clock, no hash order, no set order).

Sub-grid and service-point names do not repeat the village name (``第1网格``,
``党群服务站``): the UI shows them under their village, so renaming a village means
editing one CSV.
"""

from __future__ import annotations

import random
from pathlib import Path

from etl.registry_build.coordinates import geometry_to_km
from etl.registry_build.files import (
    coordinate_text,
    csv_text,
    feature,
    geojson_text,
    write_text,
)
from etl.registry_build.geometry import build_geometry
from etl.registry_build.organisation import (
    DEFAULT_SEED,
    NO,
    TOWN_ID,
    TOWN_NAME,
    VILLAGES,
    YES,
    subgrid_ids,
)
from etl.registry_build.people import build_people
from etl.registry_build.places import label_point, service_point_rows
from store.contracts import PERSON, SERVICE_POINT, SUBGRID, VILLAGE
from store.paths import REGISTRY_DIR

# Importable from here for the registry's tests and callers.
__all__ = ["DEFAULT_SEED", "REGISTRY_DIR", "build_registry", "geometry_to_km"]


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
    features = [feature("town", TOWN_ID, None, TOWN_NAME, geo.town)]
    subgrid_features = []
    for v in VILLAGES:
        poly = geo.villages[v.village_id]
        label = label_point(poly)
        flag = YES if v.is_placeholder else NO
        village_rows.append(
            [v.village_id, TOWN_ID, TOWN_NAME, v.name, v.kind, flag, *map(coordinate_text, label)]
        )
        features.append(feature("village", v.village_id, v.village_id, v.name, poly))
        sids = subgrid_ids(v)
        labels: dict[str, tuple[float, float]] = {}
        for k, sid in enumerate(sids, start=1):
            name = f"第{k}网格"
            labels[sid] = label_point(geo.subgrids[sid])
            subgrid_rows.append([sid, v.village_id, name, *map(coordinate_text, labels[sid])])
            subgrid_features.append(feature("subgrid", sid, v.village_id, name, geo.subgrids[sid]))
        point_rows += service_point_rows(v, poly, label, geo.subgrids, labels, rng)
    features += subgrid_features

    people = build_people(seed)
    write_text(out_dir / "village.csv", csv_text(VILLAGE.names, village_rows))
    write_text(out_dir / "subgrid.csv", csv_text(SUBGRID.names, subgrid_rows))
    write_text(out_dir / "service_point.csv", csv_text(SERVICE_POINT.names, point_rows))
    write_text(
        out_dir / "person.csv",
        csv_text(PERSON.names, [[r[c] for c in PERSON.names] for r in people]),
    )
    write_text(out_dir / "boundaries.geojson", geojson_text(features))
