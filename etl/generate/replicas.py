"""``--towns K``: the town replicated K times with distinct ids, for city-scale benchmarks.

Replica k prefixes every id with ``T00k-`` (the original keeps its ids) and shares the
original's numbers; its boundaries are the original's, shifted side by side.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from store.contracts import Kind

# Columns that carry ids, per kind: replicas prefix them to stay distinct.
ID_COLUMNS = {
    "village": ("village_id", "town_id"),
    "subgrid": ("subgrid_id", "village_id"),
    "service_point": ("place_id", "village_id"),
    "person": ("person_id", "village_id", "subgrid_id"),
    "activity": ("activity_id", "village_id", "subgrid_id", "place_id", "organizer_id"),
    "attendance": ("activity_id", "person_id"),
    "report": ("report_id", "subgrid_id", "reporter_id", "meeting_id"),
    "evaluation": ("unit_id",),
    "deduction": ("unit_id",),
    "pairing": ("pair_id", "village_id", "mentor_id", "member_id"),
    "decision": ("matter_id", "village_id"),
    "study_notice": ("notice_id", "village_id", "issuer_id"),
    "duty_rating": ("person_id",),
}


def town_prefix(index: int) -> str:
    """Id prefix of the ``index``-th replica (0 is the original town)."""
    return "" if index == 0 else f"T{index:03d}-"


def replicate(frame: pl.DataFrame, kind: Kind, towns: int) -> pl.DataFrame:
    """``frame`` followed by its ``towns - 1`` replicas (ids prefixed)."""
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


def write_boundaries(source: Path, target: Path, towns: int) -> None:
    """Copy the boundaries GeoJSON, with every replica's polygons beside the original's."""
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
