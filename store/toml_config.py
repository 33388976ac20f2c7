"""Configuration files in TOML, read with checks that name the file and the key.

Office staff edit these files; a misspelt key, a wrong type or a value out of range
must stop the program with a Chinese message that says which file and which key,
never silently keep a default. :class:`ConfigTable` wraps one parsed table with typed
getters; :meth:`ConfigTable.done` rejects keys nobody read.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or holds a bad value."""


def number_text(value: float) -> str:
    """A number as a config file would spell it: 7 rather than 7.0."""
    return str(int(value)) if float(value).is_integer() else str(value)


class ConfigTable:
    """A TOML table being validated: typed getters that name file and key on error."""

    def __init__(self, data: dict, file: str, path: str = ""):
        self.data, self.file, self.path = data, file, path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, reason: str) -> ConfigError:
        return ConfigError(f"配置文件 {self.file} 中的 {self.key(name)} 无效：{reason}")

    def raw(self, name: str, default: Any = ...) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is ...:
                raise ConfigError(f"配置文件 {self.file} 缺少 {self.key(name)}")
            return default
        return self.data[name]

    def number(
        self,
        name: str,
        minimum: float | None = 0.0,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise self.fail(name, f"应为数字，实际为 {value!r}")
        if positive and value <= 0:
            raise self.fail(name, f"应大于 0，实际为 {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(name, f"应不小于 {number_text(minimum)}，实际为 {value!r}")
        if maximum is not None and value > maximum:
            raise self.fail(name, f"应不大于 {number_text(maximum)}，实际为 {value!r}")
        return float(value)

    def integer(self, name: str, minimum: int = 0) -> int:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"应为整数，实际为 {value!r}")
        if value < minimum:
            raise self.fail(name, f"应不小于 {minimum}，实际为 {value!r}")
        return value

    def text(self, name: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.raw(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"应为非空文字，实际为 {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(name, f"应为 {'、'.join(choices)} 之一，实际为 {value!r}")
        return value

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise self.fail(name, f"应为 true 或 false，实际为 {value!r}")
        return value

    def table(self, name: str) -> ConfigTable:
        value = self.raw(name)
        if not isinstance(value, dict):
            raise self.fail(name, "应为一个表（[...]）")
        return ConfigTable(value, self.file, self.key(name))

    def tables(self, name: str) -> list[ConfigTable]:
        value = self.raw(name)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.fail(name, "应为至少一项的表数组（[[...]]）")
        return [ConfigTable(v, self.file, f"{self.key(name)}[{i}]") for i, v in enumerate(value)]

    def done(self) -> None:
        """Reject keys nobody read: a misspelt key must not silently keep a default."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "未知的配置项")

    def texts(self, name: str) -> tuple[str, ...]:
        """A list of strings (may be empty)."""
        value = self.raw(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, f"应为文字列表，实际为 {value!r}")
        return tuple(value)


def read_config_file(path: str | Path) -> ConfigTable:
    """Parse one TOML file into a :class:`ConfigTable` (errors name the file)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return ConfigTable(tomllib.load(handle), path.name)
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {path.name} 格式错误：{exc}") from None
