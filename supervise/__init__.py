"""督办事项: follow-up items with an owner, a deadline and a status (docs/supervision.md).

* :mod:`supervise.tables` — the two tables (items and their history) and the words
  for sources and statuses;
* :mod:`supervise.config` — ``data/config/supervise.toml`` (deadline per source);
* :mod:`supervise.sources` — what the sweep would open, read from the metrics;
* :mod:`supervise.writer` — every write: the sweep, opening by hand, assigning,
  extending, closing, feedback; each checked against the user's role and audited;
* :mod:`supervise.items` — the reads the pages, the briefing and the reminders share;
* :mod:`supervise.cli` — ``python -m supervise sweep|list``.
"""
