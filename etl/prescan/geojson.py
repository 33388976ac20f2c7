"""Measuring a GeoJSON boundary file: size, control characters, features, vertices."""

from __future__ import annotations

from etl.limits import ReadLimits
from etl.prescan import LimitExceeded, control_character_line, megabytes


def check_geojson_bytes(data: bytes, limits: ReadLimits) -> None:
    """Size, and an upper bound of the vertices (every vertex opens a ``[``)."""
    if len(data) > limits.geojson_bytes:
        raise LimitExceeded(
            f"边界文件大小 {megabytes(len(data))}，超过 {megabytes(limits.geojson_bytes)} 的上限"
        )
    control = control_character_line(data)
    if control is not None:
        raise LimitExceeded(f"边界文件第 {control[0]} 行含有控制字符（0x{control[1]:02X}）")
    if data.count(b"[") > 3 * limits.geojson_vertices + 4 * limits.geojson_features:
        raise LimitExceeded(
            f"边界文件的坐标点明显超过 {limits.geojson_vertices:,} 个的上限；"
            "请先简化多边形（例如在 QGIS 中“简化”）再上传"
        )


def count_vertices(coordinates: object, depth: int = 0) -> int:
    """Positions in a GeoJSON coordinates array (nesting bounded, no recursion blow-up)."""
    if depth > 6 or not isinstance(coordinates, list):
        return 0
    if coordinates and isinstance(coordinates[0], (int, float)):
        return 1
    return sum(count_vertices(c, depth + 1) for c in coordinates)


def check_geojson_shape(features: list, limits: ReadLimits) -> None:
    """Features and exact vertices of a parsed FeatureCollection."""
    if len(features) > limits.geojson_features:
        raise LimitExceeded(
            f"边界文件有 {len(features):,} 个要素，超过 {limits.geojson_features:,} 个的上限"
        )
    vertices = 0
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict):
            vertices += count_vertices(geometry.get("coordinates"))
        if vertices > limits.geojson_vertices:
            raise LimitExceeded(
                f"边界文件的坐标点超过 {limits.geojson_vertices:,} 个的上限；"
                "请先简化多边形（例如在 QGIS 中“简化”）再上传"
            )
