"""The docs are complete and self-contained.

Every key of the shipped configuration files is documented in docs/configuration.md
under its file's heading, every command and option of the command lines in docs/cli.md
under its command's heading; every relative link of README.md and docs/ resolves to a
file (and heading) inside the repository; no Python file cites the design brief, which
is not in the repository; the README stays short.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
CONFIGURATION = DOCS / "configuration.md"
CLI = DOCS / "cli.md"
README_MAX_LINES = 200
# Built from two parts so that this file does not contain what it looks for.
OUTSIDE_CITATION = "DESIGN" + " §"

FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


# ------------------------------------------------------------------ markdown helpers


def without_fences(text: str) -> str:
    """``text`` with fenced code blocks blanked (their lines kept, so headings stay put)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of every heading; the body runs to the next heading of the same
    or a higher level, so it includes the subsections."""
    lines = without_fences(text).splitlines()
    heads = [
        (i, len(m.group(1)), m.group(2))
        for i, line in enumerate(lines)
        if (m := HEADING.match(line))
    ]
    out = []
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1 :] if lv <= level), len(lines))
        out.append((title, "\n".join(lines[i:end])))
    return out


def section_text(text: str, label: str) -> str | None:
    """The bodies of the sections whose heading names ``label``, joined; None if none."""
    found = [body for title, body in sections(text) if label in title.replace("`", "")]
    return "\n".join(found) if found else None


def in_code_span(text: str, word: str) -> bool:
    """Whether ``word`` occurs as a whole token inside some `code span` of ``text``."""
    token = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
    return any(token.search(span) for span in INLINE_CODE.findall(text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of every heading of ``path`` (repeated headings get -1, -2 …)."""
    seen: dict[str, int] = {}
    out = set()
    for title, _ in sections(path.read_text(encoding="utf-8")):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def markdown_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


# ------------------------------------------------------------------ configuration keys


def config_files() -> dict[Path, str]:
    """Each configuration file → the label its section heading in configuration.md names."""
    files = {p: p.name for p in sorted((REPO / "data" / "config").glob("*.toml"))}
    files[REPO / ".streamlit" / "config.toml"] = ".streamlit/config.toml"
    return files


def walk_keys(value: object) -> set[str]:
    """Every key of a TOML value, at any depth (tables, arrays of tables, inline tables)."""
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            keys.add(key)
            keys |= walk_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            keys |= walk_keys(inner)
    return keys


def documented_keys(path: Path) -> set[str]:
    """The keys of one file that must be documented. The users file: its top-level
    settings and the keys of an account, not the account names."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if path.name == "users.toml" and path.parent.name == "config":
        accounts = data.get("users", {})
        return set(data) | set().union(*(walk_keys(a) for a in accounts.values()))
    return walk_keys(data)


def undocumented_keys(doc: str, files: dict[Path, str]) -> list[str]:
    """``file: key`` for every key not in a code span of its file's section of ``doc``."""
    missing = []
    for path, label in files.items():
        section = section_text(doc, label)
        if section is None:
            missing.append(f"{label}: no section whose heading names it")
            continue
        missing += [
            f"{label}: {key}"
            for key in sorted(documented_keys(path))
            if not in_code_span(section, key)
        ]
    return missing


def test_every_configuration_key_is_documented():
    files = config_files()
    assert sum(len(documented_keys(p)) for p in files) > 100  # the walk reaches every depth
    assert undocumented_keys(CONFIGURATION.read_text(encoding="utf-8"), files) == []


def test_the_key_check_finds_a_key_missing_from_its_section(tmp_path):
    config = tmp_path / "sample.toml"
    config.write_text('[outer]\nknown = 1\n[[outer.rows]]\nnested_key = "x"\n', encoding="utf-8")
    doc = "## `sample.toml`\n\n`[outer]` `known`, `[[outer.rows]]`\n\n## other\n\n`nested_key`\n"
    assert undocumented_keys(doc, {config: "sample.toml"}) == ["sample.toml: nested_key"]


def test_every_environment_variable_of_the_code_is_documented():
    doc = CONFIGURATION.read_text(encoding="utf-8")
    named = set()
    for path in python_files():
        if "tests" not in path.relative_to(REPO).parts:
            named |= set(re.findall(r"[\"'](GRID_[A-Z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert {"GRID_DB", "GRID_USERS", "GRID_LIMITS", "GRID_SERVER_CONFIG"} <= named
    assert sorted(v for v in named if not in_code_span(doc, v)) == []


# ------------------------------------------------------------------ command lines


def command_line_packages() -> list[str]:
    """The project's top-level packages that have a ``python -m`` command."""
    return sorted(
        p.parent.name
        for p in REPO.glob("*/__main__.py")
        if p.parent.name != "tests" and not p.parent.name.startswith(".")
    )


def commands(parser: argparse.ArgumentParser, extra: tuple[str, ...] = ()) -> dict[str, set]:
    """Command path (``python -m etl load``) → its options (``--dry-run`` …).

    Sub-parsers are commands with a heading of their own; the choices of a positional
    argument (``python -m metrics coverage``) and ``extra`` names are commands of the
    parser itself, listed with an empty option set under ``<prog> :: <name>``.
    """
    found: dict[str, set] = {parser.prog: set()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= commands(sub)
        elif isinstance(action, argparse._HelpAction):
            continue
        elif action.option_strings:
            found[parser.prog].add(max(action.option_strings, key=len))
        elif action.choices:
            found |= {f"{parser.prog} :: {choice}": set() for choice in action.choices}
    found |= {f"{parser.prog} :: {name}": set() for name in extra}
    return found


def undocumented_commands(doc: str, package: str) -> list[str]:
    """``prog: option`` for every command or option of ``python -m package`` that its
    section of ``doc`` does not name in a code span."""
    module = importlib.import_module(f"{package}.__main__")
    assert hasattr(module, "build_parser"), f"{package}/__main__.py has no build_parser()"
    # bench checks its names itself (see bench.__main__.build_parser): they are commands too.
    extra = tuple(getattr(module, "BENCHMARKS", ()))
    missing = []
    for path, options in commands(module.build_parser(), extra).items():
        prog, _, choice = path.partition(" :: ")
        section = section_text(doc, prog)
        if section is None:
            missing.append(f"{prog}: no section whose heading names it")
            continue
        if choice and not in_code_span(section, choice):
            missing.append(f"{prog}: command {choice}")
        missing += [
            f"{prog}: {option}" for option in sorted(options) if not in_code_span(section, option)
        ]
    return missing


def test_the_command_lines_are_the_expected_ones():
    assert {"etl", "metrics", "auth", "bench"} <= set(command_line_packages())


@pytest.mark.parametrize("package", command_line_packages())
def test_every_command_and_option_is_documented(package):
    assert undocumented_commands(CLI.read_text(encoding="utf-8"), package) == []


def test_the_command_check_finds_an_undocumented_option():
    doc = CLI.read_text(encoding="utf-8").replace("`--dry-run`", "dry run")
    assert "python -m etl load: --dry-run" in undocumented_commands(doc, "etl")


# ------------------------------------------------------------------ links and citations


def relative_links(path: Path) -> list[str]:
    """The link targets of ``path`` without a scheme (code is not Markdown: skipped)."""
    text = INLINE_CODE.sub("", without_fences(path.read_text(encoding="utf-8")))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    """The relative links of ``path`` that leave ``root`` or name no file or heading."""
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(root):
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_inside_the_repository(path):
    assert broken_links(path) == []


def test_the_docs_link_to_each_other():
    assert sum(len(relative_links(p)) for p in markdown_files()) > 50
    linked = {
        (p.parent / t.partition("#")[0]).resolve()
        for p in markdown_files()
        for t in relative_links(p)
        if t.partition("#")[0]
    }
    assert sorted(str(p.relative_to(REPO)) for p in DOCS.rglob("*.md") if p not in linked) == []


def test_the_link_check_finds_a_broken_link(tmp_path):
    (tmp_path / "README.md").write_text("# outside\n", encoding="utf-8")
    (tmp_path / "repo" / "docs").mkdir(parents=True)
    copy = tmp_path / "repo" / "docs" / "page.md"
    copy.write_text(
        "[a](missing.md) [b](../../README.md) [c](#nowhere) [d](#here)\n\n## Here\n"
        "`[not a link](nowhere.md)`\n",
        encoding="utf-8",
    )
    assert broken_links(copy, root=tmp_path / "repo") == [
        "missing.md (no such file)",
        "../../README.md (outside the repository)",
        "#nowhere (no such heading)",
    ]


# Files the programs create at run time: named in the docs, absent from a checkout.
RUNTIME_FILES = {"data/grid.duckdb"}
PACKAGES = ("etl", "metrics", "ui", "auth", "store", "bench", "notify")
PATH_REFERENCE = re.compile(
    r"(?:app_pages|bench|data|deploy|docs|etl|metrics|notify|scripts|store|tests|ui|auth)"
    r"/[\w./-]*"
)
FILE_SUFFIXES = {".toml", ".py", ".md", ".csv", ".json", ".geojson", ".conf", ".duckdb"}
DOTTED_REFERENCE = re.compile(rf"(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+")


def missing_references(path: Path) -> list[str]:
    """The files (``etl/isolation.py``) and Python names (``store.paths.private_files``)
    that a code span of ``path`` names and the repository does not have."""
    missing = []
    for span in INLINE_CODE.findall(path.read_text(encoding="utf-8")):
        words = span.strip("`").split()
        word = words[0] if words else ""
        if PATH_REFERENCE.fullmatch(word):
            if word not in RUNTIME_FILES and not (REPO / word).exists():
                missing.append(word)
        elif (
            DOTTED_REFERENCE.fullmatch(word)
            and Path(word).suffix not in FILE_SUFFIXES  # notify.toml is a file name
            and not resolves(word)
        ):
            missing.append(word)
    return missing


def resolves(dotted: str) -> bool:
    """Whether ``a.b.c`` is a module, or an attribute path from the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_and_module_the_docs_name_exists(path):
    assert missing_references(path) == []


def test_the_reference_check_finds_a_renamed_module(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "`etl/isolation.py`, `etl/no_such_module.py`, `store.paths.private_files`, "
        "`store.paths.no_such_function`, `notify.toml`, `data/grid.duckdb`\n",
        encoding="utf-8",
    )
    assert missing_references(page) == ["etl/no_such_module.py", "store.paths.no_such_function"]


def test_testing_md_names_every_test_module_and_only_existing_ones():
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    named = {n for n in re.findall(r"`(test_[\w*]+)`", text)}
    modules = {p.stem for p in (REPO / "tests").rglob("test_*.py")}
    assert sorted(n for n in named if "*" not in n and n not in modules) == []
    covered = {m for m in modules for n in named if Path(m).match(n)}
    assert sorted(modules - covered) == []


def python_files() -> list[Path]:
    """Every .py file of the repository, outside hidden directories (.venv, .git …)."""
    out = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        out += [Path(root) / f for f in files if f.endswith(".py")]
    return out


def test_no_python_file_cites_the_design_brief():
    citing = [
        str(p.relative_to(REPO))
        for p in python_files()
        if OUTSIDE_CITATION in p.read_text(encoding="utf-8")
    ]
    assert sorted(citing) == []


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


def test_no_pages_folder_next_to_the_entry_script():
    # docs/decisions/0001: a pages/ folder makes Streamlit skip dashboard.py (and its
    # sign-in) on a process's first request.
    assert (REPO / "dashboard.py").is_file()
    assert not (REPO / "pages").exists()
