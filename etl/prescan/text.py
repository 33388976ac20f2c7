"""Measuring a CSV's text: control characters, lines, line length, fields, field size."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from etl.limits import ReadLimits
from etl.prescan import LimitExceeded, kilobytes


@dataclass
class TextShape:
    """Lines of a text file: where each ends (newline positions), the longest."""

    newlines: np.ndarray
    size: int
    longest_line: int = 0

    @property
    def lines(self) -> int:
        return len(self.newlines) + 1


def check_text(body: bytes, limits: ReadLimits) -> TextShape:
    """Control characters, line count and line length of a CSV's text (UTF-8 or GBK).

    Line numbers in messages are the file's (title rows included), as in Excel.
    Separators, quotes, newlines and control characters are ASCII bytes that never
    occur inside a UTF-8 or GB18030 multi-byte character, so the bytes are measured
    as they are, in one vectorised pass over the bytes below 0x20.
    """
    data = np.frombuffer(body, dtype=np.uint8)
    low = np.flatnonzero(data < 32)
    values = data[low]
    control = low[(values != 9) & (values != 10) & (values != 13)]
    newlines = low[values == 10]
    if len(control):
        at = int(control[0])
        line = int(np.searchsorted(newlines, at)) + 1
        raise LimitExceeded(
            f"第 {line} 行含有控制字符（0x{body[at]:02X}），不是正常的表格文本；"
            "请在 Excel 中打开后另存为 CSV"
        )
    shape = TextShape(newlines, len(body))
    if shape.lines > limits.rows + 1:
        raise LimitExceeded(
            f"文件有 {shape.lines:,} 行，超过每个表 {limits.rows:,} 行的上限；请拆分后分别上传"
        )
    bounds = np.concatenate(([-1], newlines, [len(body)]))
    lengths = np.diff(bounds) - 1
    longest = int(lengths.argmax())
    shape.longest_line = int(lengths[longest])
    if shape.longest_line > limits.line_bytes:
        raise LimitExceeded(
            f"第 {longest + 1} 行长 {kilobytes(shape.longest_line)}，"
            f"超过每行 {kilobytes(limits.line_bytes)} 的上限；文件可能不是正常的台账"
        )
    return shape


def count_fields(line: str, separator: str) -> int:
    """Fields of one line as the csv module splits it (quotes respected)."""
    try:
        return len(next(csv.reader([line], delimiter=separator), []))
    except csv.Error:
        return line.count(separator) + 1


def check_fields(body: bytes, shape: TextShape, separator: str, limits: ReadLimits) -> None:
    """Most fields on one line, and the longest field.

    A line of n bytes holds at most n + 1 fields and no field longer than n bytes, so
    files of ordinary lines are done without counting. Otherwise separators are
    counted per line in one vectorised pass; a separator inside quotes counts too, so
    a line over the limit is counted again exactly before it is rejected. The longest
    run without a separator or newline bounds a field from below (a field over the
    limit is over it however it is quoted).
    """
    if shape.longest_line < limits.columns and shape.longest_line <= limits.field_bytes:
        return
    positions, widths = _fields_per_line(body, shape, separator)
    for line in np.flatnonzero(widths > limits.columns)[:1000]:
        text = _line(body, shape, int(line)).decode("utf-8", errors="replace")
        exact = count_fields(text, separator) if '"' in text else int(widths[line])
        if exact > limits.columns:
            raise LimitExceeded(
                f"第 {int(line) + 1} 行有 {exact:,} 列，超过每个表 {limits.columns} 列的上限"
            )
    if shape.longest_line > limits.field_bytes:
        delimiters = np.union1d(positions, shape.newlines)
        bounds = np.concatenate(([-1], delimiters, [len(body)]))
        gaps = np.diff(bounds) - 1
        if gaps.max() > limits.field_bytes:
            at = int(bounds[int(gaps.argmax())] + 1)
            line = int(np.searchsorted(shape.newlines, at)) + 1
            raise LimitExceeded(
                f"第 {line} 行有一个长 {kilobytes(gaps.max())} 的单元格，"
                f"超过每格 {kilobytes(limits.field_bytes)} 的上限"
            )


def _fields_per_line(
    body: bytes, shape: TextShape, separator: str
) -> tuple[np.ndarray, np.ndarray]:
    """Separator positions, and fields per line counting quoted separators too."""
    data = np.frombuffer(body, dtype=np.uint8)
    positions = np.flatnonzero(data == ord(separator))
    ends = np.concatenate((shape.newlines, [len(body)]))
    widths = np.diff(np.concatenate(([0], np.searchsorted(positions, ends)))) + 1
    return positions, widths


def widest_line(body: bytes, separator: str) -> int:
    """Most fields on any line of ``body`` (an upper bound: quoted separators count)."""
    newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
    return int(_fields_per_line(body, TextShape(newlines, len(body)), separator)[1].max())


def _line(body: bytes, shape: TextShape, index: int) -> bytes:
    start = 0 if index == 0 else int(shape.newlines[index - 1]) + 1
    end = int(shape.newlines[index]) if index < len(shape.newlines) else len(body)
    return body[start:end]
