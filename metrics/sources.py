"""The relations the metrics read: the rollup tables when they are built, else the same
rows computed from the base tables; the data months; the reports with the keys of
their sub-grid; and the registry query every computation starts from.

The rollup layout is described in docs/data.md (and defined in
:mod:`store.rollup_layout`).
"""

from __future__ import annotations

import duckdb

from metrics.batch_cache import batch_store
from store import rollup_layout, rollup_rows

# The reports with the keys of their sub-grid (a report of a sub-grid missing from
# the registry is left out), read straight from the base table: a range of a city's
# reports is a few hundred thousand rows, a copy of them cost every report load.
REPORTS = """(SELECT r.*, k.subgrid_key, k.village_id, v.town_id,
    date_trunc('month', r.reported_at)::DATE AS month,
    coalesce(r.status = $s_refused, false) AS refused
FROM report r
JOIN {subgrids} k ON k.subgrid_id = r.subgrid_id
JOIN village v ON v.village_id = k.village_id)"""

# The registry in scope (every village when the database has at most $whole_subgrids
# sub-grids) with, on every row, the data months and the number of sub-grids.
REGISTRY_ROWS = """SELECT v.village_id, v.name AS village_name, v.town_id, v.town_name,
    s.subgrid_id, s.name AS subgrid_name, k.subgrid_key,
    (SELECT list(month ORDER BY month) FROM {data_months}) AS data_months,
    (SELECT count(*) FROM subgrid) AS all_subgrids
FROM village v
LEFT JOIN subgrid s ON s.village_id = v.village_id
LEFT JOIN {subgrids} k ON k.subgrid_id = s.subgrid_id
WHERE $village IS NULL OR v.village_id = $village
   OR (SELECT count(*) FROM subgrid) <= $whole_subgrids
ORDER BY v.village_id, s.subgrid_id"""


def relations(con: duckdb.DuckDBPyConnection, use_rollups: bool = True) -> dict[str, str]:
    """Rollup tables when built (and wanted), else the same rows computed directly;
    plus ``data_months`` and ``report`` (the reports with their sub-grid's keys)."""
    memo = batch_store()
    if memo is not None and use_rollups:
        if "rollups_ready" not in memo:
            memo["rollups_ready"] = rollup_layout.rollups_ready(con)
        ready = memo["rollups_ready"]
    else:
        ready = use_rollups and rollup_layout.rollups_ready(con)
    if ready:
        out = {name: name for name in rollup_layout.TABLES}
        out["data_months"] = "(SELECT DISTINCT month FROM ru_village_month)"
    else:
        out = rollup_rows.direct_relations()
        out["data_months"] = (
            "(SELECT DISTINCT date_trunc('month', activity_date)::DATE AS month FROM activity)"
        )
    out["report"] = REPORTS.replace("{subgrids}", out["ru_subgrid"])
    return out
