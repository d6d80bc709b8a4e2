"""Index settings in Meilisearch's own JSON format. Both backends read them.

The embedded backend mirrors what these settings mean (typo budget, stop words, synonyms,
filterable and sortable attributes, ranking rules); the Meilisearch backend sends them as-is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from search.analysis import STOP_WORDS, fold

INDEX_UID = "services"

# Searchable attributes in priority order (the "attribute" ranking rule).
SEARCHABLE_ATTRIBUTES = [
    "name",
    "theme_labels",
    "summary",
    "organization_name",
    "description",
    "theme_words",  # lay words of the themes, primary theme first (wordPosition matters)
    "search_terms",
]
# Array fields match when any element matches.
ARRAY_FIELDS = frozenset({"themes", "target_groups", "neighbourhoods", "places"})
SCALAR_FIELDS = frozenset(
    {
        "municipality",
        "access",
        "cost",
        "organization",
        "place",
        "age_min",
        "age_max",
        "admission_status",
    }
)
FILTERABLE_ATTRIBUTES = sorted(ARRAY_FIELDS | SCALAR_FIELDS | {"_geo"})
NUMERIC_FIELDS = frozenset({"age_min", "age_max"})
SORTABLE_ATTRIBUTES = ["name_sort", "_geo", "geo_precision_rank"]
FACETS = ("themes", "target_groups", "access", "cost", "neighbourhoods")
MAX_TOTAL_HITS = 1000
RANKING_RULES = ["words", "typo", "proximity", "attribute", "sort", "exactness"]
TYPO_ONE = 5  # words of at least 5 letters allow one typo
TYPO_TWO = 9  # and of at least 9 letters two


def synonyms_from_variants(variants: Iterable[Iterable[str]]) -> dict[str, list[str]]:
    """Every spelling of a variant group is a synonym of the others (folded)."""
    synonyms: dict[str, list[str]] = {}
    for group in variants:
        spellings = list(dict.fromkeys(" ".join(fold(v).split()) for v in group))
        for spelling in spellings:
            others = [o for o in spellings if o != spelling]
            if others:
                synonyms.setdefault(spelling, [])
                synonyms[spelling] += [o for o in others if o not in synonyms[spelling]]
    return synonyms


def index_settings(*, synonyms: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "searchableAttributes": SEARCHABLE_ATTRIBUTES,
        "filterableAttributes": FILTERABLE_ATTRIBUTES,
        "sortableAttributes": SORTABLE_ATTRIBUTES,
        "displayedAttributes": ["*"],
        "rankingRules": RANKING_RULES,
        "stopWords": sorted(STOP_WORDS),
        "synonyms": synonyms or {},
        "typoTolerance": {
            "enabled": True,
            "minWordSizeForTypos": {"oneTypo": TYPO_ONE, "twoTypos": TYPO_TWO},
            "disableOnNumbers": True,
        },
        "faceting": {"maxValuesPerFacet": 100},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
        "localizedAttributes": [{"attributePatterns": ["*"], "locales": ["nld"]}],
    }
