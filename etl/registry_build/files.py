"""The registry's file formats: CSV text, and GeoJSON with one feature a line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import shapely
from shapely.geometry import Polygon


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A CSV (header ``columns``, then ``rows``) with ``\\n`` line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def coordinate_text(value: float) -> str:
    """A coordinate as the registry CSVs write it (6 decimals)."""
    return f"{value:.6f}"


def _ring(coords) -> list[list[float]]:
    return [[round(x, 6), round(y, 6)] for x, y in coords]


def _geojson_geometry(poly: Polygon) -> dict:
    poly = shapely.orient_polygons(poly, exterior_cw=False)  # RFC 7946: exterior CCW
    rings = [_ring(poly.exterior.coords)] + [_ring(r.coords) for r in poly.interiors]
    return {"type": "Polygon", "coordinates": rings}


def feature(level: str, unit_id: str, village_id: str | None, name: str, poly: Polygon) -> dict:
    """A GeoJSON feature of one unit's boundary (marked illustrative)."""
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


def geojson_text(features: list[dict]) -> str:
    """A FeatureCollection with one feature per line (valid JSON, diff-friendly)."""
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    return '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8, line ends as they are."""
    path.write_text(text, encoding="utf-8", newline="")
