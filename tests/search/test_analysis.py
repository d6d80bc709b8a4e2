"""Regression list of Dutch domain words and their analysis (dutch_porter, compounds, folding)."""

from __future__ import annotations

import pytest

from app.taxonomy.service import read_taxonomy_file
from search.analysis import STOP_WORDS, Analyzer, fold, stem, tokenize


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    taxonomy = read_taxonomy_file()
    vocabulary = [
        w
        for group in (taxonomy.themes, taxonomy.target_groups)
        for t in group
        for w in (t.label, *t.words)
    ]
    corpus = [
        "kringloop",
        "winkel",
        "centrum",
        "regio",
        "ondersteuning",
        "begeleiding",
        "verlening",
    ]
    return Analyzer(vocabulary=vocabulary, variants=taxonomy.variants, corpus=corpus)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["eenzaam", "eenzame", "eenzaamheid"], "eenzam"),
        (["schulden", "schuld"], "schuld"),
        (["gezondheid"], "gezond"),  # the new Snowball 'dutch' gives "zon"
        (["gemeente"], "gemeent"),  # the new Snowball 'dutch' gives "meen"
        (["mantelzorger", "mantelzorgers"], "mantelzorger"),
        (["rekeningen", "rekening"], "reken"),
        (["ouderen"], "ouder"),
        (["dementie"], "dementie"),
        (["vrijwilligers", "vrijwilliger"], "vrijwilliger"),
    ],
)
def test_dutch_porter_stems(words: list[str], expected: str) -> None:
    assert {stem(w) for w in words} == {expected}


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("schuldhulpverlening", {"schuldhulp", "schuld", "hulp", "verlening"}),
        ("mantelzorg", {"mantel", "zorg"}),
        ("buurtkamer", {"buurt", "kamer"}),
        ("taalcafe", {"taal", "cafe"}),
        ("voedselbank", {"voedsel", "bank"}),
        ("ontmoetingsgroep", {"ontmoeting", "groep"}),  # linking -s-
        ("kringloopwinkel", {"kringloop", "winkel"}),  # parts known from the indexed texts
        ("gezondheidscentrum", {"gezondheid", "centrum"}),
    ],
)
def test_compounds_split(analyzer: Analyzer, word: str, parts: set[str]) -> None:
    assert set(analyzer.splitter.split(word)) >= parts


@pytest.mark.parametrize(
    "word", ["eenzaamheid", "ouderen", "gezondheid", "gemeente", "dementie", "vereniging"]
)
def test_non_compounds_stay_whole(analyzer: Analyzer, word: str) -> None:
    assert analyzer.splitter.split(word) == []


def test_folding_and_tokenising() -> None:
    assert fold("Taalcafé Crème") == "taalcafe creme"
    assert tokenize('Wat is "NEAR(" AND -* 😀 ĳs?') == ["wat", "is", "near", "and", "ijs"]


def test_query_drops_stop_words_and_puts_need_words_first(analyzer: Analyzer) -> None:
    words = analyzer.query("ik kan mijn rekeningen niet meer betalen")
    assert [w.original for w in words] == ["rekeningen", "betalen"]
    moeder = analyzer.query("mijn moeder wordt vergeetachtig")
    assert [w.original for w in moeder] == ["vergeetachtig", "moeder"]
    assert [w.is_last for w in moeder] == [True, False]  # prefix stays on the word typed last


def test_need_words_are_never_stop_words() -> None:
    assert {"alleen", "hulp", "zorg", "geld", "werk", "thuis"}.isdisjoint(STOP_WORDS)


def test_unknown_compounds_are_searched_as_parts(analyzer: Analyzer) -> None:
    assert [w.original for w in analyzer.query("mantelzorgondersteuning")] == [
        "mantelzorg",
        "ondersteuning",
    ]


def test_document_terms_carry_stems_parts_and_variants(analyzer: Analyzer) -> None:
    terms = analyzer.document_terms("Schuldhulpverlening", "hulp bij schulden").split()
    assert {"schuldhulpverlen", "schuldhulpverlening", "schuld", "hulp"} <= set(terms)
    variant = analyzer.document_terms("Het taal cafe in de bieb").split()
    assert "taalcafe" in variant or "taalcaf" in variant
