"""The shipped registry (data/registry) reproduces the grid's facts (docs/data.md, "The
grid") and is the builder's output."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import polars as pl
import pytest
import shapely
from shapely.geometry import Point, shape

from etl.registry_build import REGISTRY_DIR, build_registry, geometry_to_km

FILES = ("village.csv", "subgrid.csv", "service_point.csv", "person.csv", "boundaries.geojson")
HEADERS = {
    "village.csv": "village_id,town_id,town_name,name,kind,is_placeholder,lon,lat",
    "subgrid.csv": "subgrid_id,village_id,name,lon,lat",
    "service_point.csv": "place_id,village_id,kind,name,lon,lat",
    "person.csv": "person_id,name,gender,birth_year,village_id,subgrid_id,is_party_member,"
    "role,volunteer_type,active_from,active_to",
}
PUBLIC_NAMES = {
    "营房村", "沙积村", "水库村", "护塘村", "东海村", "阮巷村", "金光村", "姜庄村", "海涯村",
    "建龙社区", "花园社区",
}  # fmt: skip
VOLUNTEER_TYPES = {"在职党员", "结对单位党员", "新乡贤", "埭长"}
M2 = 1e-6  # one square metre in km²
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _csv(name: str) -> pl.DataFrame:
    return pl.read_csv(REGISTRY_DIR / name, infer_schema=False, empty_string_is_null=False)


@pytest.fixture(scope="module")
def villages() -> pl.DataFrame:
    return _csv("village.csv")


@pytest.fixture(scope="module")
def subgrids() -> pl.DataFrame:
    return _csv("subgrid.csv")


@pytest.fixture(scope="module")
def points() -> pl.DataFrame:
    return _csv("service_point.csv")


@pytest.fixture(scope="module")
def people() -> pl.DataFrame:
    return _csv("person.csv")


@pytest.fixture(scope="module")
def features() -> list[dict]:
    text = (REGISTRY_DIR / "boundaries.geojson").read_text(encoding="utf-8")
    collection = json.loads(text)
    assert collection["type"] == "FeatureCollection"
    return collection["features"]


@pytest.fixture(scope="module")
def shapes(features) -> dict[tuple[str, str], shapely.Geometry]:
    """(level, unit_id) → geometry in lon/lat."""
    return {
        (f["properties"]["level"], f["properties"]["unit_id"]): shape(f["geometry"])
        for f in features
    }


@pytest.fixture(scope="module")
def km(shapes) -> dict[tuple[str, str], shapely.Geometry]:
    """(level, unit_id) → geometry in the local km plane."""
    return {k: geometry_to_km(g) for k, g in shapes.items()}


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("name", FILES)
def test_file_encoding_and_line_endings(name: str) -> None:
    raw = (REGISTRY_DIR / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    assert raw.endswith(b"\n")
    text = raw.decode("utf-8")
    if name in HEADERS:
        assert text.split("\n", 1)[0] == HEADERS[name]


# --------------------------------------------------------------------------- tables


def test_villages(villages: pl.DataFrame) -> None:
    assert villages.height == 14
    assert villages["village_id"].to_list() == [f"CJ{i:02d}" for i in range(1, 15)]
    assert set(villages["town_id"]) == {"CJ"}
    assert set(villages["town_name"]) == {"漕泾镇"}
    kinds = villages.group_by("kind").len().sort("kind")
    assert dict(kinds.iter_rows()) == {"村": 11, "社区": 3}
    assert set(villages["name"]) >= PUBLIC_NAMES
    placeholders = villages.filter(pl.col("is_placeholder") == "是")
    assert placeholders.height == 3
    assert all("（占位）" in n for n in placeholders["name"])
    assert set(placeholders["kind"]) == {"村", "社区"}
    assert set(villages["is_placeholder"]) == {"是", "否"}
    assert villages["name"].n_unique() == 14


def test_subgrids(subgrids: pl.DataFrame, villages: pl.DataFrame) -> None:
    assert subgrids.height == 89
    assert subgrids["subgrid_id"].n_unique() == 89
    assert set(subgrids["village_id"]) <= set(villages["village_id"])
    per_village = dict(subgrids.group_by("village_id").len().iter_rows())
    assert set(per_village) == set(villages["village_id"])
    assert all(4 <= n <= 9 for n in per_village.values())
    assert len(set(per_village.values())) >= 4  # sizes vary
    for vid, n in per_village.items():
        ids = subgrids.filter(pl.col("village_id") == vid)["subgrid_id"].to_list()
        assert ids == [f"{vid}-{k:02d}" for k in range(1, n + 1)]
    for sid, name in subgrids.select("subgrid_id", "name").iter_rows():
        assert name == f"第{int(sid[-2:])}网格"


def test_service_points(points: pl.DataFrame, villages: pl.DataFrame) -> None:
    assert points["place_id"].n_unique() == points.height
    assert set(points["village_id"]) == set(villages["village_id"])
    stations = points.filter(pl.col("kind") == "服务站")
    assert stations.height == 14
    assert sorted(stations["place_id"]) == [f"CJ{i:02d}-S" for i in range(1, 15)]
    branch_points = points.filter(pl.col("kind") == "服务点")
    assert branch_points.height == 23
    per_village = dict(branch_points.group_by("village_id").len().iter_rows())
    assert set(per_village) == set(villages["village_id"])
    assert all(1 <= n <= 3 for n in per_village.values())
    assert any(n >= 2 for n in per_village.values())
    for place_id, vid in branch_points.select("place_id", "village_id").iter_rows():
        assert re.fullmatch(rf"{vid}-P[1-3]", place_id)
    assert set(points["kind"]) == {"服务站", "服务点"}


def test_team_roles(people: pl.DataFrame, villages: pl.DataFrame, subgrids: pl.DataFrame) -> None:
    vids = set(villages["village_id"])
    leaders = people.filter(pl.col("role") == "督导员")
    assert leaders["person_id"].to_list() == [f"CJ-L{i:02d}" for i in range(1, 15)]
    assert set(leaders["village_id"]) == vids
    assert (leaders["subgrid_id"] == "").all()
    assert (leaders["is_party_member"] == "是").all()

    chiefs = people.filter(pl.col("role") == "总网格长")
    assert chiefs.height == 14 and set(chiefs["village_id"]) == vids
    guides = dict(
        people.filter(pl.col("role") == "网格指导员").group_by("village_id").len().iter_rows()
    )
    assert set(guides) == vids and all(2 <= n <= 4 for n in guides.values())
    heads = people.filter(pl.col("role") == "子网格长")
    assert heads.height == 89
    assert sorted(heads["subgrid_id"]) == sorted(subgrids["subgrid_id"])

    village_roles = people.filter(
        pl.col("role").is_in(["总网格长", "网格指导员", "子网格长", "网格员", "党员"])
    )
    assert (village_roles["is_party_member"] == "是").all()
    assert (village_roles["subgrid_id"] != "").all()
    assert (village_roles["volunteer_type"] == "").all()
    assert set(people["role"]) == {
        "督导员",
        "总网格长",
        "网格指导员",
        "子网格长",
        "网格员",
        "党员",
        "网格志愿者",
    }


def test_grid_workers_and_party_size(people: pl.DataFrame) -> None:
    members = people.filter(pl.col("is_party_member") == "是")
    assert 2350 <= members.height <= 2450
    per_subgrid = (
        members.filter(pl.col("subgrid_id") != "")
        .group_by("subgrid_id")
        .agg(pl.len().alias("members"), (pl.col("role") == "网格员").sum().alias("workers"))
    )
    assert per_subgrid.height == 89
    assert per_subgrid["members"].min() >= 12 and per_subgrid["members"].max() <= 45
    assert per_subgrid["members"].n_unique() >= 10  # sizes vary
    for n, workers in per_subgrid.select("members", "workers").iter_rows():
        assert workers >= 1
        assert abs(workers - n / 10) <= 0.5


def test_volunteers(people: pl.DataFrame) -> None:
    volunteers = people.filter(pl.col("role") == "网格志愿者")
    assert volunteers.height == 416
    counts = dict(volunteers.group_by("volunteer_type").len().iter_rows())
    assert set(counts) == VOLUNTEER_TYPES
    assert counts == {"在职党员": 150, "结对单位党员": 100, "新乡贤": 80, "埭长": 86}
    assert (volunteers["is_party_member"] == "否").all()
    assert (volunteers["subgrid_id"] != "").all()
    ages = 2026 - volunteers["birth_year"].cast(pl.Int32)
    assert ages.min() >= 25 and ages.max() <= 75
    others = people.filter(pl.col("role") != "网格志愿者")
    assert (others["volunteer_type"] == "").all()
    assert (others["is_party_member"] == "是").all()


def test_person_ids_and_foreign_keys(
    people: pl.DataFrame, villages: pl.DataFrame, subgrids: pl.DataFrame
) -> None:
    assert people["person_id"].n_unique() == people.height
    assert people["person_id"].to_list() == sorted(people["person_id"])
    for pid, vid, role in people.select("person_id", "village_id", "role").iter_rows():
        if role == "督导员":
            assert re.fullmatch(r"CJ-L\d{2}", pid)
        else:
            assert re.fullmatch(rf"{vid}-P\d{{4}}", pid)
    for vid in villages["village_id"]:
        seqs = people.filter(pl.col("person_id").str.starts_with(f"{vid}-P"))["person_id"]
        assert seqs.to_list() == [f"{vid}-P{k:04d}" for k in range(1, seqs.len() + 1)]
    assert set(people["village_id"]) <= set(villages["village_id"])
    owner = dict(subgrids.select("subgrid_id", "village_id").iter_rows())
    for vid, sid in (
        people.filter(pl.col("subgrid_id") != "").select("village_id", "subgrid_id").iter_rows()
    ):
        assert owner[sid] == vid


def test_person_values_and_dates(people: pl.DataFrame) -> None:
    assert set(people["gender"]) == {"男", "女"}
    assert set(people["is_party_member"]) == {"是", "否"}
    assert all(2 <= len(n) <= 3 for n in people["name"])
    assert all(DATE.match(d) for d in people["active_from"])
    assert all(d == "" or DATE.match(d) for d in people["active_to"])
    assert people["active_from"].min() >= "1975-01-01"
    assert people["active_from"].max() <= "2026-10-31"
    left = people.filter(pl.col("active_to") != "")
    assert (left["active_to"] > left["active_from"]).all()
    assert left["active_to"].min() >= "2024-11-01" and left["active_to"].max() <= "2026-09-30"
    assert 0.02 <= left.height / people.height <= 0.04
    joined = people.filter(pl.col("active_from") >= "2024-11-01")
    assert 0.03 <= joined.height / people.height <= 0.05

    members = people.filter(pl.col("is_party_member") == "是")
    born = members["birth_year"].cast(pl.Int32)
    assert 0.20 <= (born < 1951).mean() <= 0.30
    assert born.max() >= 1998
    assert 0.60 <= (members["gender"] == "男").mean() <= 0.70


# --------------------------------------------------------------------------- boundaries


def test_boundary_features(
    features: list[dict], villages: pl.DataFrame, subgrids: pl.DataFrame
) -> None:
    levels = [f["properties"]["level"] for f in features]
    assert (
        levels.count("town") == 1
        and levels.count("village") == 14
        and levels.count("subgrid") == 89
    )
    names = {
        **dict(villages.select("village_id", "name").iter_rows()),
        **dict(subgrids.select("subgrid_id", "name").iter_rows()),
    }
    owner = dict(subgrids.select("subgrid_id", "village_id").iter_rows())
    for f in features:
        props = f["properties"]
        assert list(props) == ["level", "unit_id", "village_id", "name", "illustrative"]
        assert props["illustrative"] is True
        assert f["geometry"]["type"] == "Polygon"
        if props["level"] == "town":
            assert props["unit_id"] == "CJ" and props["village_id"] is None
            assert props["name"] == "漕泾镇"
        elif props["level"] == "village":
            assert props["village_id"] == props["unit_id"]
            assert props["name"] == names[props["unit_id"]]
        else:
            assert props["village_id"] == owner[props["unit_id"]]
            assert props["name"] == names[props["unit_id"]]
        for ring in f["geometry"]["coordinates"]:
            assert ring[0] == ring[-1]
            for lon, lat in ring:
                assert round(lon, 6) == lon and round(lat, 6) == lat
                assert 121.3 < lon < 121.55 and 30.74 < lat < 30.85


def test_boundaries_valid_and_town_size(shapes, km) -> None:
    assert all(shapely.is_valid(g) for g in shapes.values())
    town = km[("town", "CJ")]
    assert abs(town.area - 60.4) <= 0.02 * 60.4
    minx, miny, maxx, maxy = town.bounds
    assert 9.0 <= maxx - minx <= 10.0 and 6.0 <= maxy - miny <= 7.0
    centre = town.centroid
    assert abs(centre.x) < 0.5 and abs(centre.y) < 0.5


def _assert_tiles(whole, pieces: list) -> None:
    union = shapely.union_all(pieces)
    assert abs(union.area - whole.area) <= 1e-4 * whole.area
    assert whole.symmetric_difference(union).area <= 1e-4 * whole.area
    for a, b in itertools.combinations(pieces, 2):
        assert shapely.intersection(a, b).area < M2
    outer = whole.buffer(0.001)  # 1 m tolerance
    assert all(outer.contains(p) for p in pieces)


def test_villages_tile_the_town(km, villages: pl.DataFrame) -> None:
    _assert_tiles(km[("town", "CJ")], [km[("village", v)] for v in villages["village_id"]])


def test_subgrids_tile_their_village(km, subgrids: pl.DataFrame) -> None:
    for vid, group in subgrids.group_by("village_id", maintain_order=True):
        _assert_tiles(km[("village", vid[0])], [km[("subgrid", s)] for s in group["subgrid_id"]])


def test_points_inside_their_polygons(shapes, villages, subgrids, points) -> None:
    for vid, lon, lat in villages.select("village_id", "lon", "lat").iter_rows():
        assert shapes[("village", vid)].contains(Point(float(lon), float(lat)))
    for sid, lon, lat in subgrids.select("subgrid_id", "lon", "lat").iter_rows():
        assert shapes[("subgrid", sid)].contains(Point(float(lon), float(lat)))
    for vid, lon, lat in points.select("village_id", "lon", "lat").iter_rows():
        assert shapes[("village", vid)].contains(Point(float(lon), float(lat)))
    for table in (villages, subgrids, points):
        for col in ("lon", "lat"):
            assert all(re.fullmatch(r"\d+\.\d{6}", v) for v in table[col])


# --------------------------------------------------------------------------- determinism


def test_build_is_deterministic_and_matches_committed_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_registry(first, seed=2026)
    build_registry(second, seed=2026)
    for name in FILES:
        built = (first / name).read_bytes()
        assert built == (second / name).read_bytes(), name
        assert built == (REGISTRY_DIR / name).read_bytes(), f"{name} is not the builder's output"
