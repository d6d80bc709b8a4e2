"""A B1 readability signal for Dutch descriptions (criterion T9, "begrijpelijk").

Three simple, explainable measures — never a verdict, only tips for the provider:

* average sentence length in words (B1: about 15 words or fewer), and sentences that are long;
* the share of long words: 4 or more syllables, or 13 or more letters;
* jargon from a list of professional words, each with a plain alternative.

Syllables are counted as groups of vowels (``ij`` counts with its ``i``), which is good enough
for a signal. The result carries concrete suggestions in Dutch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Professional words and their plain alternatives (B1). Matched case-insensitively at the
# start of a word, so plurals and compounds that start with them are found too.
JARGON: dict[str, str] = {
    "indicatie": "toestemming",
    "maatwerkvoorziening": "hulp die bij u past",
    "participatie": "meedoen",
    "mantelzorgondersteuning": "hulp voor mantelzorgers",
    "cliëntondersteuning": "iemand die met u meedenkt",
    "clientondersteuning": "iemand die met u meedenkt",
    "casemanager": "vaste contactpersoon",
    "beschikking": "besluit",
    "zelfredzaamheid": "zelf dingen kunnen doen",
    "zelfredzaam": "zelf dingen kunnen doen",
    "laagdrempelig": "u kunt zo binnenlopen",
    "doelgroep": "voor wie het is",
    "intake": "eerste gesprek",
    "ambulant": "bij u thuis of in de buurt",
    "respijtzorg": "zorg die het even van u overneemt",
    "re-integratie": "weer aan het werk gaan",
    "psychosociaal": "over hoe u zich voelt",
    "psychosociale": "over hoe u zich voelt",
    "preventief": "om problemen te voorkomen",
    "interventie": "aanpak",
    "multidisciplinair": "met verschillende hulpverleners samen",
    "faciliteren": "mogelijk maken",
    "informele zorg": "hulp van familie, buren of vrijwilligers",
    "voorliggende voorziening": "hulp die u zonder aanvraag bij de gemeente krijgt",
    "ondersteuningsbehoefte": "waar u hulp bij nodig heeft",
    "hulpverleningstraject": "hulp",
    "traject": "hulp of begeleiding",
    "problematiek": "problemen",
    "integraal": "samen, in één keer",
    "signaleren": "zien of merken",
    "empowerment": "eigen kracht",
    "sociaal domein": "hulp van de gemeente",
    "eigen bijdrage": "bedrag dat u zelf betaalt",
    "toeleiding": "helpen om de juiste hulp te vinden",
    "woonvoorziening": "woning",
}

_VOWEL_GROUP = re.compile(r"[aeiouyàáâäèéêëìíîïòóôöùúûü]+")
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
# A sentence ends at . ! ? (or a line break / bullet) followed by white space or the end.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|\s[•·–-]\s")
_ABBREVIATIONS = re.compile(r"\b(bijv|bv|o\.a|m\.b\.v|t\.a\.v|i\.p\.v|ca|enz|etc|nl|incl)\.", re.I)

LONG_WORD_SYLLABLES = 4
LONG_WORD_LETTERS = 13


@dataclass(frozen=True)
class JargonHit:
    word: str  # as it appears in the text
    term: str  # the listed term
    alternative: str


@dataclass(frozen=True)
class Readability:
    sentences: int
    words: int
    average_sentence_words: float
    long_word_share: float
    long_words: list[str] = field(default_factory=list)
    long_sentences: list[str] = field(default_factory=list)
    jargon: list[JargonHit] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No suggestions: the text looks like plain language (B1)."""
        return not self.suggestions


def syllables(word: str) -> int:
    """Syllables of a Dutch word, counted as vowel groups (at least 1)."""
    return max(1, len(_VOWEL_GROUP.findall(word.lower())))


def is_long_word(word: str) -> bool:
    letters = sum(ch.isalpha() for ch in word)
    return letters >= LONG_WORD_LETTERS or syllables(word) >= LONG_WORD_SYLLABLES


def split_sentences(text: str) -> list[str]:
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\u2024"), text.strip())
    parts = (p.strip().replace("\u2024", ".") for p in _SENTENCE_END.split(protected))
    return [p for p in parts if _WORD.search(p)]


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def find_jargon(text: str) -> list[JargonHit]:
    lowered = text.lower()
    hits: list[JargonHit] = []
    seen: set[str] = set()
    for term, alternative in JARGON.items():
        for match in re.finditer(rf"(?<![^\W\d_]){re.escape(term)}[^\W\d_]*", lowered):
            found = text[match.start() : match.end()]
            if found.lower() not in seen:
                seen.add(found.lower())
                hits.append(JargonHit(word=found, term=term, alternative=alternative))
    hits.sort(key=lambda h: lowered.find(h.word.lower()))
    return hits


def _shorten(sentence: str, limit: int = 80) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def analyse(
    text: str,
    *,
    max_average_sentence_words: float = 15,
    max_sentence_words: int = 25,
    max_long_word_share: float = 0.15,
) -> Readability:
    """Measure a text and suggest plain-language changes (Dutch, for the provider)."""
    sentences = split_sentences(text)
    per_sentence = [words_of(s) for s in sentences]
    all_words = [w for ws in per_sentence for w in ws]
    if not all_words:
        return Readability(sentences=0, words=0, average_sentence_words=0.0, long_word_share=0.0)
    average = len(all_words) / len(sentences)
    long_words = list(dict.fromkeys(w for w in all_words if is_long_word(w)))
    long_count = sum(1 for w in all_words if is_long_word(w))
    share = long_count / len(all_words)
    long_sentences = [
        s for s, ws in zip(sentences, per_sentence, strict=True) if len(ws) > max_sentence_words
    ]
    jargon = find_jargon(text)

    suggestions: list[str] = []
    if average > max_average_sentence_words:
        suggestions.append(
            f"Uw zinnen zijn gemiddeld {average:.0f} woorden lang. "
            f"Maak ze korter: het liefst {max_average_sentence_words:.0f} woorden of minder."
        )
    for sentence in long_sentences[:3]:
        suggestions.append(f"Splits deze lange zin in twee of meer zinnen: '{_shorten(sentence)}'")
    if share > max_long_word_share:
        examples = ", ".join(f"'{w}'" for w in long_words[:5])
        suggestions.append(
            f"{share:.0%} van de woorden is lang. Kies kortere woorden in plaats van bijvoorbeeld "
            f"{examples}."
        )
    for hit in jargon:
        suggestions.append(f"Schrijf '{hit.alternative}' in plaats van '{hit.word}'.")
    return Readability(
        sentences=len(sentences),
        words=len(all_words),
        average_sentence_words=round(average, 1),
        long_word_share=round(share, 3),
        long_words=long_words,
        long_sentences=long_sentences,
        jargon=jargon,
        suggestions=suggestions,
    )
