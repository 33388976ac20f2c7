"""Text that users, uploads or the registry control, made safe for Streamlit's Markdown.

Streamlit renders the text of ``st.markdown``, ``st.caption``, ``st.title``,
``st.subheader``, alerts, toasts, ``st.metric`` labels, widget labels and help, tab
and expander labels and ``st.radio`` options as Markdown, with extras: ``$…$`` is
LaTeX, ``:red[…]`` colours text, ``:material/…:`` and ``:smile:`` are icons.
(``st.selectbox``/``st.multiselect`` options and ``st.dataframe`` cells are plain
text: they take names as they are.) Names of villages, sub-grids, places and people
come from files that an upload can change, and file names from the uploader's disk:
they must reach the screen as the characters they are. :func:`plain` escapes what
Markdown (and those extras) could read as syntax; :func:`html_text` does the same for
HTML contexts such as Plotly's axis and hover text. Map tooltips need neither:
Streamlit's deck.gl component HTML-escapes each value it puts into the template.
All of this was checked against the DOM that Streamlit 1.67 renders in Chromium.
"""

from __future__ import annotations

import html
import re

# CommonMark lets any ASCII punctuation be backslash-escaped. These start syntax
# anywhere in a line of Streamlit's Markdown: emphasis, code, links and footnotes,
# LaTeX ('$'), directives and icon/emoji short codes (':'), entities ('&'), HTML and
# autolinks ('<'), strike-through ('~'), tables ('|').
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]$:&<|~])")
# These start a block (list, heading, quote, setext underline) only where a line
# starts, which inside the caller's text is where the value starts (it has no line
# breaks): escaped there only, so that '2026-13' stays readable in the source.
_BLOCK_START = re.compile(r"^(\s*)(?:([-+*#>=])|(\d+\u2060?)([.)]))")
# Four leading spaces would start a code block after a blank line; one space shows
# the same as any run of them (HTML collapses white space).
_LEADING_SPACE = re.compile(r"^\s+")
# Streamlit and GFM also rewrite the *parsed* text, where escapes no longer count:
# ':material_x:' (what it makes of ':material/x:') becomes an icon, ':streamlit:' its
# logo, 'www.x.cn' and 'a@b.cn' become links, and '->', '<-', '--', '>=', '<=', '~='
# become arrows, dashes and signs. A word joiner (U+2060: invisible, not whitespace,
# no line break) after every ':' and '@', before every '.' and inside those pairs
# breaks each pattern without changing what the reader sees.
_WORD_JOINER = "\u2060"
_REWRITTEN_IN_TEXT = re.compile(r"(?<=[:@])|(?=\.)|(?<=[-<>~])(?=[-<>=])")


def plain(value: object) -> str:
    """``value`` as literal text inside Markdown (None → "")."""
    if value is None:
        return ""
    text = _LEADING_SPACE.sub(" ", str(value).replace("\r", " ").replace("\n", " "))
    text = _REWRITTEN_IN_TEXT.sub(_WORD_JOINER, text)
    text = _INLINE_SPECIALS.sub(r"\\\1", text)
    return _BLOCK_START.sub(_escape_block_start, text)


def _escape_block_start(match: re.Match) -> str:
    indent, marker, digits, delimiter = match.groups()
    return f"{indent}\\{marker}" if marker else f"{indent}{digits}\\{delimiter}"


def html_text(value: object) -> str:
    """``value`` as literal text inside HTML, including Plotly's text (None → "").

    Quotes become numeric references: Plotly decodes those but shows ``&quot;`` as is.
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=False).replace('"', "&#34;").replace("'", "&#39;")
