"""The B1 readability signal (T9): measures and concrete suggestions (no database)."""

from __future__ import annotations

import pytest

from app.admission.readability import (
    JARGON,
    analyse,
    find_jargon,
    is_long_word,
    split_sentences,
    syllables,
)


@pytest.mark.parametrize(
    ("word", "count"),
    [("koffie", 2), ("buurtkamer", 3), ("vrijwilliger", 4), ("huis", 1), ("participatie", 5)],
)
def test_syllables(word: str, count: int) -> None:
    assert syllables(word) == count


def test_long_words_by_syllables_or_letters() -> None:
    assert is_long_word("participatie")  # 5 syllables
    assert is_long_word("schuldhulpverlening")  # 19 letters
    assert not is_long_word("koffie")
    assert not is_long_word("buurtkamer")


def test_sentences_keep_abbreviations_together() -> None:
    text = "U kunt bijv. bellen. Of mailen!\nWij helpen u graag?"
    assert split_sentences(text) == ["U kunt bijv. bellen.", "Of mailen!", "Wij helpen u graag?"]


def test_plain_language_has_no_suggestions() -> None:
    result = analyse("Kom koffie drinken. Het is gratis. U bent welkom.")
    assert result.ok
    assert result.sentences == 3
    assert result.average_sentence_words == pytest.approx(3.0)
    assert result.long_word_share == 0


def test_long_sentences_are_named() -> None:
    long_sentence = " ".join(["woord"] * 30) + "."
    result = analyse(long_sentence)
    assert not result.ok
    assert result.long_sentences == [long_sentence]
    assert any("gemiddeld 30 woorden" in s for s in result.suggestions)
    assert any(s.startswith("Splits deze lange zin") for s in result.suggestions)


def test_many_long_words_are_named() -> None:
    result = analyse("Maatschappelijke ondersteuning bevordert gezondheidsvaardigheden.")
    assert result.long_word_share > 0.5
    tip = next(s for s in result.suggestions if "van de woorden is lang" in s)
    assert "'gezondheidsvaardigheden'" in tip


def test_jargon_with_plain_alternatives() -> None:
    hits = find_jargon("Zonder Indicatie geen maatwerkvoorzieningen, maar wel participatie.")
    assert [(h.word, h.alternative) for h in hits] == [
        ("Indicatie", "toestemming"),
        ("maatwerkvoorzieningen", "hulp die bij u past"),
        ("participatie", "meedoen"),
    ]
    result = analyse("Wij bieden mantelzorgondersteuning.")
    assert "Schrijf 'hulp voor mantelzorgers' in plaats van 'mantelzorgondersteuning'." in (
        result.suggestions
    )


def test_jargon_matches_words_not_parts_of_words() -> None:
    assert find_jargon("contraindicatie") == []
    assert {"indicatie", "maatwerkvoorziening", "participatie", "mantelzorgondersteuning"} <= set(
        JARGON
    )


def test_empty_text() -> None:
    result = analyse("  ")
    assert result.ok
    assert result.words == 0
