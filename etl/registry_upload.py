"""The registry as the office sees it: lists of ids with names, and the current files.

The registry (村居 ``village``, 子网格 ``subgrid``, 党群服务站点 ``service_point``) is
replaced through the ordinary upload path (docs/loading.md, "Replacing the registry");
this module holds what the upload page, the templates and the validation reports need
to *show* it:

* :func:`registry_lists` — every village, sub-grid and service point with its name (the
  upload's own registry rows first, then the database), for the 编号对照 sheet of the
  templates, their drop-down lists and the "valid ids" of an unknown-id error;
* :func:`registry_export` — the registry as stored, under the canonical Chinese headers,
  which the page offers for download: edit the names, upload it back.

The rules a registry upload must keep are in :mod:`etl.validation.registry_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from etl.validation.typed_table import Part
from store.contracts import KINDS, Kind


@dataclass(frozen=True)
class RegistryLists:
    """The registry's ids and names, sorted by id.

    ``villages``: village_id, name; ``subgrids``: subgrid_id, village_id, name;
    ``points``: place_id, village_id, kind, name.
    """

    villages: pl.DataFrame
    subgrids: pl.DataFrame
    points: pl.DataFrame

    def village_name(self, village_id: str) -> str | None:
        """The name of ``village_id``, or None when it is not in the registry."""
        found = self.villages.filter(pl.col("village_id") == village_id)["name"]
        return found[0] if found.len() else None


_LIST_COLUMNS = {
    "village": ("village_id", "name"),
    "subgrid": ("subgrid_id", "village_id", "name"),
    "service_point": ("place_id", "village_id", "kind", "name"),
}


def registry_lists(con: duckdb.DuckDBPyConnection, parts: Sequence[Part] = ()) -> RegistryLists:
    """Every village, sub-grid and service point with its name: the rows of ``parts``
    (an upload's registry files) replace the stored rows of the same id."""
    frames = []
    for kind, columns in _LIST_COLUMNS.items():
        stored = con.sql(f"SELECT {', '.join(columns)} FROM {kind}").pl()
        mine = [p.typed.select(columns) for p in parts if p.kind.name == kind]
        key = columns[0]
        frame = pl.concat([*mine, stored]).unique(key, keep="first").sort(key)
        frames.append(frame)
    return RegistryLists(*frames)


def registry_export(con: duckdb.DuckDBPyConnection, kind: Kind) -> pl.DataFrame:
    """The stored rows of a registry ``kind`` under the canonical Chinese headers, in
    the canonical text forms (是/否 for flags), sorted by id: the file to edit and upload
    back to rename units (docs/data.md, "Putting in the real registry")."""
    if kind.name not in _LIST_COLUMNS:
        raise ValueError(f"not a registry kind: {kind.name}")
    frame = con.sql(f"SELECT {', '.join(kind.names)} FROM {kind.table} ORDER BY 1").pl()
    return frame.select(
        (
            pl.when(pl.col(c.name)).then(pl.lit("是")).otherwise(pl.lit("否"))
            if c.dtype == "bool"
            else pl.col(c.name).cast(pl.String)
        ).alias(c.header)
        for c in kind.columns
    )


REGISTRY_KIND_NAMES = tuple(_LIST_COLUMNS)
REGISTRY_LABELS = {name: KINDS[name].label for name in REGISTRY_KIND_NAMES}
