"""Coordinates: WGS84 lon/lat and the town's local metric plane (km around its centre).

Geometry is built in the local plane (distances and areas in km), then converted to
lon/lat and written with 6 decimals (:data:`GRID_DEG`).
"""

from __future__ import annotations

import math

import numpy as np
import shapely

CENTER_LON = 121.420
CENTER_LAT = 30.793
KM_PER_DEG_LON = math.cos(math.radians(CENTER_LAT)) * 111.32
KM_PER_DEG_LAT = 110.57
GRID_DEG = 1e-6  # coordinates are written with 6 decimals


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


def rounded(lon: float, lat: float) -> tuple[float, float]:
    """A point rounded onto the 1e-6° grid the files are written with."""
    return round(lon, 6), round(lat, 6)
