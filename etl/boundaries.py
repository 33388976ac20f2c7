"""Map boundaries: village and sub-grid polygons, stored in the ``boundary`` table.

The shipped ``data/registry/boundaries.geojson`` is illustrative (no public
boundaries exist); a town replaces it by uploading its own GeoJSON. A replacement is
validated whole (valid JSON, a FeatureCollection of Polygon/MultiPolygon features in
WGS84 with ``level`` village|subgrid and a ``unit_id`` that exists in the registry)
and swapped in one transaction, recorded in ``upload`` like any other load; a
rejected file changes nothing. ``illustrative`` in the table says which is in force.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import shapely
from shapely.geometry import shape

from etl.isolation import run_isolated
from etl.limits import Limits, ReadLimits, default_limits, in_process
from etl.prescan import ReadError
from etl.prescan.geojson import check_geojson_bytes, check_geojson_shape
from etl.schema import BOUNDARY_DDL, bump_data_version
from store import audit
from store.clock import now_local
from store.database import transaction
from store.paths import REGISTRY_DIR

LEVELS = ("village", "subgrid")
SHIPPED_FILE = REGISTRY_DIR / "boundaries.geojson"


class BoundaryError(ValueError):
    """A GeoJSON file that cannot replace the boundaries (message in Chinese)."""


@dataclass(frozen=True)
class BoundaryLoad:
    villages: int
    subgrids: int
    missing: list[str]


def create_boundary_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(BOUNDARY_DDL)


def parse_geojson(
    data: bytes, known: dict[str, set[str]], limits: ReadLimits | None = None
) -> list[tuple]:
    """Validate a FeatureCollection; rows (level, unit_id, name, geometry json) or an error.

    ``known`` maps each level to the ids that exist in the registry. The file is
    measured before it is parsed, and its features and vertices counted before any
    geometry is built (:mod:`etl.prescan`).
    """
    limits = limits or default_limits().read
    try:
        check_geojson_bytes(data, limits)
        collection = json.loads(data.decode("utf-8-sig"))
    except ReadError as exc:
        raise BoundaryError(str(exc)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BoundaryError(f"不是有效的 GeoJSON（UTF-8 JSON）：{exc}") from exc
    except RecursionError as exc:
        raise BoundaryError("不是有效的 GeoJSON：嵌套层数过多") from exc
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise BoundaryError("GeoJSON 顶层必须是 FeatureCollection")
    features = collection.get("features") or []
    if not isinstance(features, list):
        raise BoundaryError("GeoJSON 的 features 必须是数组")
    try:
        check_geojson_shape(features, limits)
    except ReadError as exc:
        raise BoundaryError(str(exc)) from exc
    problems, rows, seen = [], [], set()
    for i, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            problems.append(f"第 {i} 个要素不是对象")
            continue
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        level, unit = props.get("level"), props.get("unit_id")
        if level == "town":
            continue
        where = f"第 {i} 个要素"
        if level not in LEVELS:
            problems.append(f"{where}：level 应为 village 或 subgrid，实际为 {level!r}")
            continue
        if not isinstance(unit, str) or unit not in known[level]:
            problems.append(
                f"{where}：编号 {unit!r} 不在{'村居' if level == 'village' else '子网格'}名录中"
            )
            continue
        if (level, unit) in seen:
            problems.append(f"{where}：{unit} 重复出现")
            continue
        seen.add((level, unit))
        geometry = feature.get("geometry")
        geometry = geometry if isinstance(geometry, dict) else {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(f"{where}（{unit}）：几何类型应为 Polygon 或 MultiPolygon")
            continue
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            problems.append(f"{where}（{unit}）：坐标无法解析（{exc}）")
            continue
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            problems.append(f"{where}（{unit}）：坐标应为 WGS84 经纬度")
            continue
        if not shapely.is_valid(geom):
            problems.append(f"{where}（{unit}）：多边形无效（{shapely.is_valid_reason(geom)}）")
            continue
        name = props.get("name")
        name = name.strip()[:100] if isinstance(name, str) else None
        rows.append((level, unit, name, json.dumps(geometry, ensure_ascii=False)))
    if problems:
        raise BoundaryError("；".join(problems[:20]) + ("……" if len(problems) > 20 else ""))
    if not any(r[0] == "village" for r in rows):
        raise BoundaryError("文件中没有村居（level = village）边界")
    return rows


def replace_boundaries(
    con: duckdb.DuckDBPyConnection,
    data: bytes,
    file_name: str,
    user: str,
    illustrative: bool = False,
    limits: Limits | None = None,
) -> BoundaryLoad:
    """Validate ``data`` and make it the boundaries in force, in one transaction.

    The file is parsed in the isolated reading process (:mod:`etl.isolation`).
    """
    limits = limits or default_limits()
    known = {
        "village": {r[0] for r in con.execute("SELECT village_id FROM village").fetchall()},
        "subgrid": {r[0] for r in con.execute("SELECT subgrid_id FROM subgrid").fetchall()},
    }
    try:
        rows = run_isolated(
            parse_geojson, data, known, limits.read, limits=limits.isolation, what="边界文件"
        )
    except BoundaryError:
        raise
    except ReadError as exc:  # the reading process ran out of memory or time
        raise BoundaryError(str(exc)) from exc
    present = {(r[0], r[1]) for r in rows}
    missing = sorted(
        unit for level, ids in known.items() for unit in ids if (level, unit) not in present
    )
    with transaction(con):
        create_boundary_table(con)
        con.execute("DELETE FROM boundary")
        con.executemany(
            "INSERT INTO boundary VALUES (?, ?, ?, ?, ?)",
            [(lvl, unit, name, illustrative, geom) for lvl, unit, name, geom in rows],
        )
        upload_id = con.execute("SELECT coalesce(max(upload_id), 0) + 1 FROM upload").fetchall()
        con.execute(
            "INSERT INTO upload (upload_id, file_name, sha256, kind, rows_in_file, "
            "rows_inserted, rows_updated, user_name, uploaded_at, batch_id) "
            "VALUES (?, ?, ?, 'boundary', ?, ?, 0, ?, ?, ?)",
            [
                upload_id[0][0],
                file_name,
                hashlib.sha256(data).hexdigest(),
                len(rows),
                len(rows),
                user,
                now_local(),
                upload_id[0][0],
            ],
        )
        bump_data_version(con)
        audit.record(con, user, "boundary", f"{file_name}：{len(rows)} 个边界")
    villages = sum(1 for r in rows if r[0] == "village")
    return BoundaryLoad(villages, len(rows) - villages, missing)


def load_shipped_boundaries(con: duckdb.DuckDBPyConnection, user: str = "init") -> BoundaryLoad:
    """Load the shipped illustrative boundaries (used by ``init``)."""
    data = SHIPPED_FILE.read_bytes()
    return replace_boundaries(
        con, data, SHIPPED_FILE.name, user, illustrative=True, limits=in_process()
    )
