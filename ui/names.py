"""How units are named on screen: villages by their registry name, sub-grids with
their village where names repeat across villages (every village has a 第1网格)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ui import session


def village_name(village_id: str | None) -> str:
    """The village's display name ('营房村'); its id if unknown, '全镇' for none."""
    if not village_id:
        return "全镇"
    return session.village_names().get(village_id, village_id)


def subgrid_labels(
    ids: Sequence[str], subgrids: pl.DataFrame, with_village: bool = True
) -> list[str]:
    """'营房村 第1网格' for each sub-grid id (sub-grid names repeat across villages, so
    the village name makes them unique); just '第1网格' when ``with_village`` is false."""
    names = subgrids["name"].to_list()
    if with_village:
        names = (subgrids["village_name"] + " " + subgrids["name"]).to_list()
    lookup = dict(zip(subgrids["subgrid_id"].to_list(), names, strict=True))
    return [lookup.get(u, u) for u in ids]


def place_labels(ids: Sequence[str | None], places: pl.DataFrame) -> list[str | None]:
    """'营房村党群服务站（CJ03-S）' for each place id (``places`` from
    ``metrics.registry.service_points``): the name a reader knows, with the id the
    files use; an unknown id as it is, a missing one stays missing."""
    names = dict(zip(places["place_id"].to_list(), places["name"].to_list(), strict=True))
    return [None if p is None else f"{names[p]}（{p}）" if p in names else p for p in ids]
