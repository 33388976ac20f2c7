"""The registry of one town as NumPy arrays: who is where, in which role, how engaged.

Every generator (activities, reports, evaluations) draws from the same :class:`Town`,
built once from the registry files with the generator's random stream: each village
gets a fixed diligence in [0.6, 1.0] (its sub-grids scatter around it), each member a
fixed engagement.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from etl.canonical_csv import read_canonical_csv
from store.contracts import PERSON, SERVICE_POINT, SUBGRID, VILLAGE
from store.paths import REGISTRY_DIR


class Town:
    """The registry of one town as NumPy arrays, for fast per-unit lookups."""

    def __init__(self, registry: dict[str, pl.DataFrame], rng: np.random.Generator):
        self.villages = registry["village"].sort("village_id")
        self.subgrids = registry["subgrid"].sort("subgrid_id")
        self.points = registry["service_point"].sort("place_id")
        people = registry["person"].sort("person_id")
        self.people = people
        self.pid = people["person_id"].to_numpy()
        self.role = people["role"].to_numpy()
        # Roles as small integers: the generators ask "who holds these roles" tens of
        # thousands of times, and np.isin over strings cost a second of every init.
        names, codes = np.unique(self.role.astype(str), return_inverse=True)
        self._role_codes = codes.astype(np.int16)
        self._role_index = {name: i for i, name in enumerate(names.tolist())}
        self.subgrid = people["subgrid_id"].fill_null("").to_numpy()
        self.village = people["village_id"].to_numpy()
        self.party = people["is_party_member"].to_numpy()
        self.birth = people["birth_year"].fill_null(1970).to_numpy()
        self.start = people["active_from"].to_numpy().astype("datetime64[D]")
        self.end = (
            people["active_to"].fill_null(date(2999, 12, 31)).to_numpy().astype("datetime64[D]")
        )
        n = len(self.pid)
        self.engagement = np.clip(rng.beta(6, 1.6, n) * 1.1, 0.25, 1.05)

        vids = self.villages["village_id"].to_list()
        diligence = np.sort(rng.uniform(0.6, 1.0, len(vids)))
        rng.shuffle(diligence)
        self.village_diligence = dict(zip(vids, diligence, strict=True))
        self.subgrid_village = dict(
            zip(self.subgrids["subgrid_id"], self.subgrids["village_id"], strict=True)
        )
        self.subgrid_diligence = {
            sg: float(np.clip(self.village_diligence[v] * rng.uniform(0.9, 1.08), 0.5, 1.0))
            for sg, v in self.subgrid_village.items()
        }
        self.party_day = {v: int(rng.integers(8, 20)) for v in vids}

        by_subgrid: dict[str, list[int]] = defaultdict(list)
        by_village: dict[str, list[int]] = defaultdict(list)
        for i in range(n):
            if self.subgrid[i]:
                by_subgrid[self.subgrid[i]].append(i)
            by_village[self.village[i]].append(i)
        self.by_subgrid = {k: np.array(v) for k, v in by_subgrid.items()}
        self.by_village = {k: np.array(v) for k, v in by_village.items()}
        self.places: dict[str, list[str]] = defaultdict(list)
        self.station: dict[str, str] = {}
        for pid, vid, kind in self.points.select("place_id", "village_id", "kind").iter_rows():
            self.places[vid].append(pid)
            if kind == "服务站":
                self.station[vid] = pid

    def active(self, idx: np.ndarray, day: np.datetime64) -> np.ndarray:
        """The subset of ``idx`` on the roll on ``day``."""
        if idx.size == 0:
            return idx
        keep = (self.start[idx] <= day) & (self.end[idx] >= day)
        return idx[keep]

    def members(self, idx: np.ndarray) -> np.ndarray:
        """The party members of the town's organisation among ``idx`` (督导员 aside)."""
        return idx[self.party[idx] & (self.role[idx] != "督导员")]

    def with_role(self, idx: np.ndarray, *roles: str) -> np.ndarray:
        """The people among ``idx`` who hold one of ``roles``."""
        held = self._role_codes[idx]
        wanted = [self._role_index[r] for r in roles if r in self._role_index]
        if len(wanted) == 1:
            return idx[held == wanted[0]]
        return idx[np.isin(held, wanted)]


def read_registry(registry_dir: Path = REGISTRY_DIR) -> dict[str, pl.DataFrame]:
    """The registry tables (village, subgrid, service_point, person) as typed frames."""
    out = {}
    for kind in (VILLAGE, SUBGRID, SERVICE_POINT, PERSON):
        _, frame = read_canonical_csv(registry_dir / f"{kind.name}.csv", kind)
        out[kind.name] = frame
    return out


def datetime_column(values: np.ndarray) -> pl.Series:
    """A Polars datetime column from NumPy seconds (Polars needs ms/us/ns)."""
    return pl.Series(values.astype("datetime64[us]"))
