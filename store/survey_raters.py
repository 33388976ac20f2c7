"""The rater weights of the two indices' surveys (``indices.toml``,
``[fortress.survey_raters]`` and ``[vanguard.survey_raters]``).

Two layers read them, which is why they live on the ground floor: the metrics weigh
the 测评类型 of each survey with them (:mod:`metrics.config`), and the loader tells an
upload which evaluation rows feed which index and which feed nothing
(:mod:`etl.validation.evaluation_feeds`). The rule is in docs/metrics.md (测评); the keys
in docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path

from store.contracts import RATERS
from store.paths import CONFIG_DIR
from store.toml_config import ConfigTable, number_text, read_config_file

INDICES_FILE = "indices.toml"
# The sections of indices.toml that hold a survey: the 堡垒指数's and the 先锋指数's.
INDEX_SECTIONS = ("fortress", "vanguard")


def parse_rater_weights(section: ConfigTable) -> tuple[tuple[str, float], ...]:
    """``[<section>.survey_raters]``: (测评类型, per cent of the 测评 part) pairs, adding
    up to 100 (ConfigError naming file and key otherwise). A weight may be 0: that
    rater's scores are then loaded but weigh nothing."""
    raters = section.table("survey_raters")
    pairs = []
    for rater in raters.data:
        if rater not in RATERS:
            raise raters.fail(rater, f"未知的测评类型，应为 {'、'.join(RATERS)} 之一")
        pairs.append((rater, raters.number(rater)))
    total = sum(w for _, w in pairs)
    if not pairs or abs(total - 100.0) > 1e-9:
        raise section.fail(
            "survey_raters", f"各测评类型的权重之和应为 100，实际为 {number_text(round(total, 6))}"
        )
    raters.done()
    return tuple(pairs)


def read_rater_weights(config_dir: str | Path = CONFIG_DIR) -> dict[str, dict[str, float]]:
    """Per index name (``survey_index``, e.g. 堡垒指数): the weight of each rater listed
    (a rater not listed weighs nothing). ConfigError when the file or a key is bad."""
    table = read_config_file(Path(config_dir) / INDICES_FILE)
    out: dict[str, dict[str, float]] = {}
    for name in INDEX_SECTIONS:
        section = table.table(name)
        out[section.text("survey_index")] = dict(parse_rater_weights(section))
    return out
