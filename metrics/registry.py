"""Reference data for filters and maps: villages, sub-grids, points, months, boundaries."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl

from metrics.scope import scoped, unscoped


@scoped
def villages(con: duckdb.DuckDBPyConnection, village_id: str | None = None) -> pl.DataFrame:
    """village_id, name, kind, is_placeholder, lon, lat — in id order (optionally one)."""
    return con.sql(
        """
        SELECT village_id, name, kind, is_placeholder, lon, lat FROM village
        WHERE ?::VARCHAR IS NULL OR village_id = ?::VARCHAR
        ORDER BY village_id
        """,
        params=[village_id, village_id],
    ).pl()


@scoped
def subgrids(con: duckdb.DuckDBPyConnection, village_id: str | None = None) -> pl.DataFrame:
    """subgrid_id, village_id, name, village_name, lon, lat — optionally for one village."""
    return con.sql(
        """
        SELECT s.subgrid_id, s.village_id, s.name, v.name AS village_name, s.lon, s.lat
        FROM subgrid s JOIN village v USING (village_id)
        WHERE ?::VARCHAR IS NULL OR s.village_id = ?::VARCHAR
        ORDER BY s.subgrid_id
        """,
        params=[village_id, village_id],
    ).pl()


@scoped
def service_points(con: duckdb.DuckDBPyConnection, village_id: str | None = None) -> pl.DataFrame:
    """place_id, village_id, kind (服务站/服务点), name, village_name, lon, lat."""
    return con.sql(
        """
        SELECT p.place_id, p.village_id, p.kind, p.name, v.name AS village_name, p.lon, p.lat
        FROM service_point p JOIN village v USING (village_id)
        WHERE ?::VARCHAR IS NULL OR p.village_id = ?::VARCHAR
        ORDER BY p.place_id
        """,
        params=[village_id, village_id],
    ).pl()


@unscoped
def data_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every month from the first to the last with any activity or report (first days)."""
    row = con.execute(
        """
        SELECT min(m), max(m) FROM (
            SELECT date_trunc('month', min(activity_date)) AS m FROM activity
            UNION ALL SELECT date_trunc('month', max(activity_date)) FROM activity
            UNION ALL SELECT date_trunc('month', min(reported_at)) FROM report
            UNION ALL SELECT date_trunc('month', max(reported_at)) FROM report
        )
        """
    ).fetchall()[0]
    if row[0] is None:
        return []
    first, last = row
    months, current = [], date(first.year, first.month, 1)
    while current <= date(last.year, last.month, 1):
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


@scoped
def boundaries(
    con: duckdb.DuckDBPyConnection, level: str, village_id: str | None = None
) -> tuple[list[dict], bool]:
    """GeoJSON features of one level (``village``/``subgrid``) and whether illustrative.

    Each feature's properties: ``unit_id``, ``name``, ``village_id``, ``village_name``
    and ``display_name`` (a sub-grid's name is shown with its village's).
    """
    if level == "village":
        sql = """
            SELECT b.unit_id, v.name, b.unit_id AS village_id, v.name AS village_name,
                   b.illustrative, b.geometry
            FROM boundary b JOIN village v ON v.village_id = b.unit_id
            WHERE b.level = 'village' AND (?::VARCHAR IS NULL OR b.unit_id = ?::VARCHAR)
            ORDER BY b.unit_id
        """
    else:
        sql = """
            SELECT b.unit_id, s.name, s.village_id, v.name AS village_name,
                   b.illustrative, b.geometry
            FROM boundary b JOIN subgrid s ON s.subgrid_id = b.unit_id
            JOIN village v ON v.village_id = s.village_id
            WHERE b.level = 'subgrid' AND (?::VARCHAR IS NULL OR s.village_id = ?::VARCHAR)
            ORDER BY b.unit_id
        """
    rows = con.execute(sql, [village_id, village_id]).fetchall()
    features = []
    for unit, name, vid, vname, _illustrative, geometry in rows:
        display = name if level == "village" else f"{vname}{name}"
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "unit_id": unit,
                    "name": name,
                    "village_id": vid,
                    "village_name": vname,
                    "display_name": display,
                },
                "geometry": json.loads(geometry),
            }
        )
    illustrative = any(r[4] for r in rows) if rows else True
    return features, illustrative
