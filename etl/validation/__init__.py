"""Row-level validation of uploaded tables, vectorised with Polars expressions.

Every check is a :class:`etl.validation.findings.Rule`: the column it blames, a boolean
expression that is true on the offending rows, and the reason in Chinese. All rules of
a table are evaluated in one ``select`` (no Python loop over rows); only the rules that
hit are turned into report rows (文件, 行号, 列, 值, 原因), with the value and the column
header as written in the file.

What is checked (docs/loading.md): required columns and values, types, enumerations,
references (village, sub-grid, place, person, activity ids must exist in the database
or in the same upload), sub-grids belonging to the stated village, unique keys within
a file and across the files of one upload (reports excepted: the latest state wins),
the report lifecycle (受理 ≥ 上报, 核实 ≥ 受理, 反馈 ≥ 核实, 办结 ≥ 核实/反馈, no step
without the one before) and its status, ranges (duration 1–1440, score 0–100,
satisfaction 1–5, points 0–100) and dates not after today nor before 2000.

Where:

* :mod:`~etl.validation.typed_table` — typing: raw text → typed :class:`Part`;
* :mod:`~etl.validation.rules` — row rules from the contracts and across columns, and
  :func:`~etl.validation.rules.check_part`, which runs every rule of a table;
* :mod:`~etl.validation.lifecycle_rules` — the report lifecycle;
* :mod:`~etl.validation.references` — ids that must exist;
* :mod:`~etl.validation.duplicates` — repeated natural keys;
* :mod:`~etl.validation.findings` — rules and the report frames.

Decisions where the brief is silent:

* A timestamp needs a time of day; a bare date in 受理时间 would turn response times
  into guesses, so it is an error with its own reason.
* 堡垒指数 is scored for a sub-grid or a village, 先锋指数 for a person.
* Person dates (起始/终止日期) may lie in the future (a planned change of the roster).
"""
