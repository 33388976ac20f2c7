"""The fonts the briefing is typeset in: Noto Sans CJK (Debian's fonts-noto-cjk).

Typst and matplotlib embed (a subset of) the font they are given, so the PDF shows
the same glyphs on every machine that opens it. The font is installed by the run and
test commands (``scripts/install-system-deps``); :func:`cjk_font_dirs` finds it, and
:class:`FontMissing` says in Chinese what to install when it is not there.
"""

from __future__ import annotations

import functools
from pathlib import Path

# Where Debian, Ubuntu and Fedora put Noto CJK; the first that exists is used.
SEARCH = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/share/fonts/truetype/noto"),
)
FAMILY = "Noto Sans CJK SC"
SERIF = "Noto Serif CJK SC"


class FontMissing(RuntimeError):
    """No Chinese font to typeset with (message in Chinese, with the fix)."""


@functools.cache
def cjk_font_dirs() -> tuple[str, ...]:
    """Directories holding Noto Sans CJK, or FontMissing."""
    found = tuple(str(d) for d in SEARCH if any(d.glob("NotoSansCJK*")))
    if not found:
        raise FontMissing(
            "找不到中文字体 Noto Sans CJK，无法生成 PDF 通报。"
            "请安装字体后重试：sudo apt-get install fonts-noto-cjk"
            "（make run 和 make test-deps 会自动安装）"
        )
    return found


@functools.cache
def cjk_font_file() -> str:
    """The Noto Sans CJK regular font file (for matplotlib)."""
    for directory in cjk_font_dirs():
        for name in ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf"):
            if (Path(directory) / name).exists():
                return str(Path(directory) / name)
    return str(next(Path(cjk_font_dirs()[0]).glob("NotoSansCJK*")))
