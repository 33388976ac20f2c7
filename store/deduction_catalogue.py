"""The deduction catalogue (``data/config/deductions.toml``): every 反向扣分 item.

Three layers read it, which is why it lives on the ground floor: the metrics leave out
the items a metric already scores (:mod:`metrics.config`), the loader warns about
items it does not list or that it marks as scored already (:mod:`etl.validation`),
and the sample generator draws only the items that are not (:mod:`etl.generate`).
The rules are in docs/metrics.md (反向扣分); the keys in docs/configuration.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from store.paths import CONFIG_DIR
from store.toml_config import ConfigTable, read_config_file

CATALOGUE_FILE = "deductions.toml"
# The units an item is recorded on (the generator's choice of unit).
UNIT_KINDS = ("subgrid", "person", "village")


@dataclass(frozen=True)
class DeductionItem:
    """One catalogue entry. ``duplicates`` names the metric that already scores the
    failure (an assessment component key); such an item is never counted."""

    item: str
    points: float
    category: str
    applies_to: str
    duplicates: str | None = None

    @property
    def counted(self) -> bool:
        """Whether a deduction of this item lowers an index or a total."""
        return self.duplicates is None


def catalogue_path(config_dir: str | Path = CONFIG_DIR) -> Path:
    """Where the catalogue of ``config_dir`` is."""
    return Path(config_dir) / CATALOGUE_FILE


def parse_catalogue(table: ConfigTable) -> tuple[DeductionItem, ...]:
    """The entries of a parsed catalogue file (ConfigError naming file and key)."""
    items = []
    for t in table.tables("deduction"):
        duplicates = t.raw("duplicates", None)
        if duplicates is not None and (not isinstance(duplicates, str) or not duplicates.strip()):
            raise t.fail(
                "duplicates", f"应为指标名称（如 on_time_resolve_rate），实际为 {duplicates!r}"
            )
        items.append(
            DeductionItem(
                item=t.text("item"),
                points=t.number("points", maximum=100.0, positive=True),
                category=t.text("category"),
                applies_to=t.text("applies_to", UNIT_KINDS),
                duplicates=duplicates,
            )
        )
        t.done()
    names = [i.item for i in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise table.fail("deduction", f"扣分事项不能重复：{'、'.join(repeated)}")
    table.done()
    return tuple(items)


def read_catalogue(config_dir: str | Path = CONFIG_DIR) -> tuple[DeductionItem, ...]:
    """The catalogue of ``config_dir`` (ConfigError when missing or bad)."""
    return parse_catalogue(read_config_file(catalogue_path(config_dir)))
