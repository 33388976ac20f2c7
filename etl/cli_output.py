"""What ``python -m etl`` prints: load outcomes, rejections and tables aligned for Chinese.

Error tables are plain text whose columns line up in a terminal even with Chinese
(double-width) characters; long uploads get a progress bar on stderr.
"""

from __future__ import annotations

import sys
import unicodedata

import polars as pl
from tqdm import tqdm

from etl.upload_results import LoadResult, ValidationResult

SHOWN_ROWS = 50  # rows of an error table printed; the rest are summarised by reason


class ProgressBar:
    """A tqdm bar on stderr fed by the loader's (step, total, label) callback."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.enabled = enabled

    def __enter__(self):
        return self

    def __call__(self, step: int, total: int, label: str) -> None:
        """Move the bar to ``step`` of ``total`` (a new total starts a new bar)."""
        if not self.enabled:
            return
        if self.bar is None or self.bar.total != total:
            self.close()
            self.bar = tqdm(total=total, file=sys.stderr, unit="步", leave=False, disable=None)
        self.bar.set_description_str(label)
        self.bar.update(step - self.bar.n)

    def close(self) -> None:
        """Take the bar off the terminal (before other output is printed)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __exit__(self, *exc) -> None:
        self.close()


def print_loaded(result: LoadResult) -> None:
    """What a load wrote (or would write, dry run), file by file, and its warnings."""
    validation = result.validation
    for f in validation.files:
        if f.duplicate_of is not None:
            print(f"= {f.label}：与已载入的第 {f.duplicate_of} 次上传内容完全相同，跳过（无变化）")
        elif f.same_as is not None:
            print(f"= {f.label}：与本次的 {f.same_as} 内容完全相同，跳过")
        elif f.upload_id is not None:
            later = f"，另 {f.superseded} 行以本次上传中更新的状态为准" if f.superseded else ""
            print(
                f"✓ {f.label}（{f.kind_label}，{f.rows} 行）：新增 {f.inserted}，"
                f"更新 {f.updated}，未变 {f.unchanged}{later}"
            )
    outside = validation.outside
    if outside is not None and outside.height:
        print(f"\n请核对：有 {outside.height} 行不属于文件所对应的村居或月份，已一并载入：")
        print(format_table(outside, SHOWN_ROWS))
        print("（如需这类文件整批不载入，请加 --refuse-outside；载错可用 python -m etl undo 撤销）")
    if validation.warnings.height:
        print(f"\n提示（{validation.warnings.height} 条，不影响载入）：")
        print(format_table(validation.warnings, SHOWN_ROWS))
    if result.dry_run:
        print("\n试运行：校验通过，以上为将要写入的结果；数据库未做任何修改。")
    elif result.batch_id is None:
        print("\n没有需要载入的新数据，数据库未改动。")
    else:
        print(f"\n已载入，批次 {result.batch_id}。如需撤销：python -m etl undo {result.batch_id}")


def print_rejection(result: ValidationResult) -> None:
    """Why an upload was rejected: its errors (the first rows, then counts by reason)."""
    errors = result.errors
    n_files = errors["文件"].n_unique()
    print(f"上传被拒绝：{n_files} 个文件中共有 {errors.height} 个错误，数据库未做任何修改。")
    print(format_table(errors, SHOWN_ROWS))
    if errors.height > SHOWN_ROWS:
        print(f"（仅显示前 {SHOWN_ROWS} 条）按原因统计：")
        by_reason = (
            errors.group_by("列", "原因").len().sort("len", "列", descending=[True, False]).head(20)
        )
        for column, reason, count in by_reason.iter_rows():
            print(f"  {count:>8} 行  {column}：{reason}")
    print("请修改文件后重新上传。")


def print_outside(result: ValidationResult) -> None:
    """Why an upload was refused for rows outside the village or month their file is
    for (the first rows), and how to load them anyway."""
    outside = result.outside
    print(f"未载入：有 {outside.height} 行不属于文件所对应的村居或月份，数据库未做任何修改。")
    print(format_table(outside, SHOWN_ROWS))
    if outside.height > SHOWN_ROWS:
        print(f"（仅显示前 {SHOWN_ROWS} 行）")
    print("核对无误后去掉 --refuse-outside 重新运行即可一并载入；否则请修改文件。")


def _width(text: str) -> int:
    """Terminal columns ``text`` takes (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` padded or cut to ``width`` columns; ``keep_end`` cuts its start instead
    (a file path: the name at its end is what tells files apart)."""
    if _width(text) <= width:
        return text + " " * (width - _width(text))
    out, used = "", 0
    for ch in reversed(text) if keep_end else text:
        w = _width(ch)
        if used + w > width - 1:
            break
        out, used = (ch + out, used + w) if keep_end else (out + ch, used + w)
    padding = " " * (width - used - 1)
    return "…" + out + padding if keep_end else out + "…" + padding


def format_table(frame: pl.DataFrame, max_rows: int, max_width: int = 48) -> str:
    """A plain-text table aligned for Chinese (wide) characters.

    Columns are cut at ``max_width`` but the last (the reason, which must be read
    whole); the file column keeps its end.
    """
    shown = frame.head(max_rows)
    cells = [[("" if v is None else str(v)) for v in row] for row in shown.iter_rows()]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(shown.columns)]
    widths = [w if i == len(widths) - 1 else min(max_width, w) for i, w in enumerate(widths)]
    tails = [c == "文件" for c in shown.columns]

    def line(values) -> str:
        cut = (_cut(v, w, t) for v, w, t in zip(values, widths, tails, strict=True))
        return "  ".join(cut).rstrip()

    lines = [line(shown.columns), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in cells]
    return "\n".join(lines)
