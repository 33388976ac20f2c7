"""``python -m bench [name …] [--repeat N]``: run benchmarks and print their figures."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

BENCHMARKS = {
    "init": "bench.init_bench",
    "load": "bench.load_bench",
    "metrics": "bench.metrics_bench",
    "pages": "bench.pages_bench",
    "browser": "bench.browser_bench",
    "viewers": "bench.viewers_bench",
    "suite": "bench.suite_bench",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench`` (every benchmark and option is in docs/cli.md).

    The names are checked in :func:`main`, not by ``choices``: argparse rejects an empty
    ``nargs="*"`` list against ``choices`` ("invalid choice: []"), and no name means all.
    """
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default all): {list(BENCHMARKS)}"
    )
    parser.add_argument("--repeat", type=int, default=0, help="override the repeat count")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {unknown}")
    results = {}
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        figures = module.run(args)
        print(json.dumps(figures, ensure_ascii=False, indent=2), flush=True)
        results[name] = figures
    print(summary(results), flush=True)
    return 0


def summary(results: dict[str, dict]) -> str:
    """Every target of the benchmarks run, one line each: met or not, the figure, the
    target; then how many were met."""
    lines = ["== summary: every target, measured in this run"]
    met = total = 0
    for name, figures in results.items():
        for entry in figures.get("targets", []):
            total += 1
            met += bool(entry["met"])
            mark = "met" if entry["met"] else "NOT met"
            value = "—" if entry["value"] is None else entry["value"]
            lines.append(f"{mark:>8}  {name:<8} {value!s:>10}  {entry['target']}")
    lines.append(f"{met} of {total} targets met")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
