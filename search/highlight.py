"""Highlighting shared by both backends: HTML-escaped text with <mark> around matches."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from search.analysis import fold, stem

PRE, POST = "\ue000", "\ue001"  # private-use sentinels, replaced after escaping
_WORD = re.compile(r"\w+", re.UNICODE)


def from_sentinels(text: str) -> str:
    """Escape text marked with PRE/POST sentinels (as Meilisearch returns it) and add <mark>."""
    return html.escape(text).replace(PRE, "<mark>").replace(POST, "</mark>")


def mark_words(
    text: str, matches: Callable[[str, str], bool], memo: dict[str, bool] | None = None
) -> str:
    """Mark every word for which ``matches(folded_word, stem)`` is true; escape the rest.

    ``memo`` (word → verdict) may be shared by the fields and documents of one query: the same
    words come back in them, and folding, stemming and matching each is the slow part."""
    verdicts: dict[str, bool] = {} if memo is None else memo
    out: list[str] = []
    last = 0
    for m in _WORD.finditer(text):
        word = m.group(0)
        verdict = verdicts.get(word)
        if verdict is None:
            folded = fold(word)
            verdict = verdicts[word] = matches(folded, stem(folded))
        if verdict:
            out.append(html.escape(text[last : m.start()]))
            out.append(f"<mark>{html.escape(word)}</mark>")
            last = m.end()
    if not out:
        return html.escape(text)
    out.append(html.escape(text[last:]))
    return "".join(out)
