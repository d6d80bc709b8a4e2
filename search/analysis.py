"""Dutch text analysis shared by both backends.

* ``fold``: lower case, diacritics removed (café → cafe), everything else a separator;
* ``stem``: Snowball ``dutch_porter`` (the old Porter-based Dutch stemmer). The newer Snowball
  ``dutch`` (Kraaij-Pohlmann) maps gezondheid → "zon" and gemeente → "meen": never use it;
* ``split_compound``: splits compounds on a dictionary built from the taxonomy vocabulary
  (schuldhulpverlening → schuld + hulp + verlening);
* stop words are dropped from queries, but never words that carry a need ("alleen").

At index time every document gets a ``search_terms`` field with the stems of its words, the
parts of its compounds and the lay words of its themes; queries are analysed the same way, so
both backends match "eenzame" to "eenzaamheid" and "geldzorgen" to a debt-advice service.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_stemmer = Stemmer.Stemmer("dutch_porter")
_WORD_RE = re.compile(r"[0-9a-z]+")

# Common Dutch function words. Words that carry a need are deliberately absent
# ("alleen", "hulp", "zorg", "thuis", "geld", "werk", "contact").
STOP_WORDS: frozenset[str] = frozenset(
    [
        "de",
        "het",
        "een",
        "en",
        "of",
        "maar",
        "dus",
        "want",
        "als",
        "dan",
        "toch",
        "nog",
        "ook",
        "al",
        "wel",
        "niet",
        "geen",
        "meer",
        "minder",
        "veel",
        "ik",
        "jij",
        "je",
        "u",
        "hij",
        "zij",
        "ze",
        "wij",
        "we",
        "jullie",
        "mij",
        "me",
        "mijn",
        "mijne",
        "jouw",
        "jou",
        "uw",
        "zijn",
        "haar",
        "hem",
        "ons",
        "onze",
        "hun",
        "hen",
        "zich",
        "die",
        "dat",
        "dit",
        "deze",
        "wat",
        "wie",
        "waar",
        "waarom",
        "hoe",
        "welke",
        "wanneer",
        "er",
        "hier",
        "daar",
        "van",
        "voor",
        "met",
        "op",
        "in",
        "aan",
        "bij",
        "naar",
        "om",
        "tot",
        "uit",
        "over",
        "onder",
        "door",
        "tegen",
        "zonder",
        "na",
        "te",
        "ten",
        "ter",
        "is",
        "ben",
        "bent",
        "zijn",
        "was",
        "waren",
        "wordt",
        "worden",
        "werd",
        "kan",
        "kun",
        "kunt",
        "kunnen",
        "wil",
        "wilt",
        "willen",
        "moet",
        "moeten",
        "mag",
        "mogen",
        "zal",
        "zullen",
        "zou",
        "zouden",
        "heb",
        "hebt",
        "heeft",
        "hebben",
        "had",
        "doe",
        "doet",
        "doen",
        "graag",
        "even",
        "erg",
        "heel",
        "zo",
        "zeer",
        "iets",
        "niets",
        "iemand",
        "niemand",
    ]
)

MIN_PART = 3  # shortest compound part
MIN_LAST_PART = 4  # shortest unknown tail of a compound


def fold(text: str) -> str:
    if text.isascii():  # nothing to decompose (most Dutch text)
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def tokenize(text: str) -> list[str]:
    """Folded words of ``text`` (letters and digits only: no syntax of any engine survives)."""
    return _WORD_RE.findall(fold(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


# Unknown tails that are suffixes, not words: eenzaam+heid is not a compound.
_SUFFIXES = frozenset(
    [
        "heid",
        "heden",
        "ing",
        "ingen",
        "lijk",
        "lijke",
        "lijkheid",
        "baar",
        "bare",
        "schap",
        "schappen",
        "tje",
        "tjes",
        "je",
        "jes",
        "isch",
        "ische",
        "ster",
        "sters",
        "erij",
        "erijen",
        "achtig",
        "achtige",
        "loos",
        "loze",
    ]
)
_LINKS = ("", "s", "en", "e")
# No Dutch word starts with s + one of these: "ontmoetingsgroep" is ontmoeting-s-groep.
_NO_WORD_AFTER_S = frozenset("bcdfgrvz")


class CompoundSplitter:
    """Splits Dutch compounds into known parts (with the linking -s-, -e-, -en-).

    Known parts are the taxonomy's words (from 3 letters: "dag", "wmo") and the words of the
    indexed texts themselves (from 4 letters), so "kringloopwinkel" splits into
    kringloop + winkel when both occur somewhere.
    """

    def __init__(self, vocabulary: Iterable[str], corpus: Iterable[str] = ()) -> None:
        words = {w for w in vocabulary if len(w) >= MIN_PART}
        words |= {w for w in corpus if len(w) >= MIN_LAST_PART}
        self.words = frozenset(words - STOP_WORDS)

    def split(self, word: str) -> list[str]:
        """All parts, atomic and intermediate: schuldhulpverlening → schuldhulp, schuld, hulp, verlening."""
        parts = self._split(word, depth=0)
        if not parts or len(parts) < 2:
            return []
        out: list[str] = []
        for part in parts:
            out.append(part)
            inner = self._split(part, depth=1) if part in self.words else None
            if inner and len(inner) > 1:
                out.extend(inner)
        return list(dict.fromkeys(out))

    def top_level(self, word: str) -> list[str]:
        """The parts of one split, without the intermediate ones: schuld + hulp + verlening."""
        parts = self._split(word, depth=0)
        return parts if parts and len(parts) > 1 else []

    def _split(self, word: str, depth: int) -> list[str] | None:
        if depth > 3:
            return None
        fallback: list[str] | None = None
        for cut in range(len(word) - MIN_PART, MIN_PART - 1, -1):  # longest known head first
            head, tail = word[:cut], word[cut:]
            if head not in self.words:
                continue
            for link in _LINKS:
                if link and not tail.startswith(link):
                    continue
                rest = tail[len(link) :]
                if len(rest) < MIN_PART:
                    continue
                if rest in self.words:
                    return [head, rest]
                deeper = self._split(rest, depth + 1)
                if deeper:
                    return [head, *deeper]
                if (
                    depth == 0
                    and len(rest) >= MIN_LAST_PART
                    and rest not in _SUFFIXES
                    and (fallback is None or (link == "s" and tail[1] in _NO_WORD_AFTER_S))
                ):
                    fallback = [head, rest]
        return fallback


@dataclass(frozen=True)
class QueryWord:
    original: str  # folded word as typed
    stem: str
    parts: tuple[str, ...]  # stems of compound parts (empty when not a compound)
    is_last: bool  # prefix search applies to the word typed last
    position: int = 0  # where the word stood in the query


class Analyzer:
    """Analysis with the vocabulary of one taxonomy and the words of the indexed texts.

    ``vocabulary``: the taxonomy's labels and lay words — the words of needs. ``corpus``:
    the words of the indexed texts (names, descriptions), for the compound dictionary.
    """

    def __init__(
        self,
        *,
        vocabulary: Iterable[str] = (),
        variants: Iterable[Iterable[str]] = (),
        corpus: Iterable[str] = (),
    ) -> None:
        words: set[str] = set()
        variant_groups = [list(g) for g in variants]
        for entry in [*vocabulary, *(v for g in variant_groups for v in g)]:
            words.update(tokenize(entry))
        self.need_stems = frozenset(stem(w) for w in words if w not in STOP_WORDS)
        self.splitter = CompoundSplitter(words, corpus)
        # variant phrases ("schuld hulp") → the stems of every spelling in the group
        self.variants: dict[str, frozenset[str]] = {}
        for group in variant_groups:
            spellings = [" ".join(tokenize(v)) for v in group]
            stems = frozenset(s for v in spellings for s in self.terms(v))
            for spelling in spellings:
                self.variants[spelling] = stems

    def terms(self, text: str) -> list[str]:
        """Index terms of ``text``: every word, its stem, and the stems of its compound parts.

        The unstemmed word is kept so typo tolerance can compare whole words
        ("eenzaamheit" is one typo from "eenzaamheid", far from the stem "eenzam").
        """
        out: list[str] = []
        for word in tokenize(text):
            if word in STOP_WORDS:
                continue
            stemmed = stem(word)
            out.append(stemmed)
            if stemmed != word:
                out.append(word)
            out.extend(stem(p) for p in self.splitter.split(word))
        return out

    def document_terms(self, *texts: str) -> str:
        seen: dict[str, None] = {}
        for text in texts:
            for term in self.terms(text):
                seen.setdefault(term, None)
        joined = " ".join(tokenize(" ".join(texts)))
        for phrase, stems in self.variants.items():
            if f" {phrase} " in f" {joined} ":
                for s in sorted(stems):
                    seen.setdefault(s, None)
        return " ".join(seen)

    def is_need(self, word: str) -> bool:
        """Is this a word of needs (a taxonomy label or lay word, or a compound of them)?"""
        return stem(word) in self.need_stems or any(
            stem(p) in self.need_stems for p in self.splitter.split(word)
        )

    def query(self, text: str) -> list[QueryWord]:
        """Query words without stop words, need words first.

        Both backends drop words from the end when not every word matches (matching strategy
        "last"), so "mijn moeder wordt vergeetachtig" keeps "vergeetachtig" and drops "moeder".
        The word typed last keeps prefix search.
        """
        words = tokenize(text)[:32]
        meaningful = [w for w in words if w not in STOP_WORDS] or words
        # A compound the indexed texts never use is searched as its parts, so that
        # "mantelzorgondersteuning" still finds "mantelzorg" when no text has the whole word.
        expanded: list[str] = []
        for word in meaningful:
            parts = self.splitter.top_level(word)
            if parts and word not in self.splitter.words:
                expanded.extend(parts)
            else:
                expanded.append(word)
        meaningful = expanded
        last = len(meaningful) - 1
        ordered = sorted(range(len(meaningful)), key=lambda i: not self.is_need(meaningful[i]))
        return [
            QueryWord(
                original=meaningful[i],
                stem=stem(meaningful[i]),
                parts=tuple(stem(p) for p in self.splitter.split(meaningful[i])),
                is_last=i == last,
                position=i,
            )
            for i in ordered
        ]

    def query_variants(self, text: str) -> frozenset[str]:
        """Stems of variant groups whose phrase occurs in the query ("schuld hulp")."""
        joined = f" {' '.join(tokenize(text))} "
        out: set[str] = set()
        for phrase, stems in self.variants.items():
            if f" {phrase} " in joined:
                out |= stems
        return frozenset(out)
