"""The embedded backend's in-memory columns follow the index file (search/columns.py).

Two backend objects on one file stand for two server processes: one writes, the other must
see every change at its next search — incrementally from the change log, or by a full load
after a rebuild or a long gap — with filters, facets, name order and vocabulary up to date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import search.columns
import search.embedded
from app.indexing.service import current_settings
from search.embedded import EmbeddedBackend
from search.types import Eq, SearchQuery, SortOrder
from tests.search.test_backend_contract import contract_analyzer, doc

ANALYZER = contract_analyzer()
FACETS = ("themes", "target_groups", "access", "cost", "neighbourhoods")


def backend_at(path: Path) -> EmbeddedBackend:
    backend = EmbeddedBackend(path=path, analyzer=ANALYZER)
    backend.apply_settings(current_settings())
    return backend


def state_of(backend: EmbeddedBackend) -> Any:
    assert backend._state_cache is not None
    return backend._state_cache


def services(n: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [
        doc(
            f"s{i:03d}",
            f"Dienst {i:03d}",
            description="Hulp en advies in de buurt.",
            themes=["geld-en-schulden"],
            groups=["iedereen"],
            wijken=["thamerdal"],
            analyzer=ANALYZER,
            **kwargs,
        )
        for i in range(n)
    ]


def test_a_second_process_sees_writes_incrementally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search.columns, "FULL_RELOAD_SHARE", 1.0)  # a tiny index
    writer, reader = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    writer.upsert(services(5))
    first = reader.search(SearchQuery(text="hulp", facets=FACETS))
    assert first.total == 5
    assert first.facets["themes"] == {"geld-en-schulden": 5}

    writer.upsert(
        [
            doc(
                "nieuw",
                "Aaa Zwemles voor kinderen",
                description="Zwemmen leren in het zwembad.",
                themes=["sport-cultuur-en-vrije-tijd"],
                groups=["kinderen"],
                cost="eigen-bijdrage",
                wijken=["de-kwakel"],
                analyzer=ANALYZER,
            )
        ]
    )
    writer.delete(["s000"])
    writer.upsert([{**services(2)[1], "cost": "eigen-bijdrage", "neighbourhoods": ["zijdelwaard"]}])

    # a new word (vocabulary), new filter values, facets and name order, all at once
    assert [h.id for h in reader.search(SearchQuery(text="zwemles")).hits] == ["nieuw"]
    assert not state_of(reader).columns.loaded_fully
    everything = reader.search(SearchQuery(sort=SortOrder.name, facets=FACETS, per_page=50))
    assert [h.id for h in everything.hits] == ["nieuw", "s001", "s002", "s003", "s004"]
    assert everything.facets["cost"] == {"gratis": 3, "eigen-bijdrage": 2}
    assert everything.facets["neighbourhoods"] == {
        "thamerdal": 3,
        "zijdelwaard": 1,
        "de-kwakel": 1,
    }
    paid = reader.search(SearchQuery(filter=Eq("cost", "eigen-bijdrage"), sort=SortOrder.name))
    assert [h.id for h in paid.hits] == ["nieuw", "s001"]
    assert reader.search(SearchQuery(filter=Eq("neighbourhoods", "thamerdal"))).total == 3
    assert reader.search(SearchQuery(text="hulp")).total == 4  # s000 is gone
    assert "s000" not in [h.id for h in reader.search(SearchQuery(per_page=50)).hits]


def test_a_rebuild_is_a_full_reload(tmp_path: Path) -> None:
    writer, reader = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    writer.upsert(services(3))
    assert reader.search(SearchQuery(text="hulp")).total == 3
    generation = state_of(reader).columns.generation
    writer.rebuild(current_settings(), [services(2)])
    assert reader.search(SearchQuery(text="hulp")).total == 2
    assert state_of(reader).columns.generation == generation + 1
    assert state_of(reader).columns.loaded_fully


def test_a_gap_longer_than_the_change_log_is_a_full_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search.embedded, "CHANGE_LOG_VERSIONS", 2)
    monkeypatch.setattr(search.columns, "CHANGE_LOG_VERSIONS", 2)
    writer, reader = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    writer.upsert(services(1))
    assert reader.search(SearchQuery()).total == 1
    for document in services(6)[1:]:
        writer.upsert([document])  # five versions: the log keeps only the last two
    result = reader.search(SearchQuery(facets=FACETS))
    assert result.total == 6
    assert result.facets["themes"] == {"geld-en-schulden": 6}
    assert state_of(reader).columns.loaded_fully


def test_many_small_changes_compact_the_array_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search.columns, "TAIL_COMPACT_SHARE", 0.1)
    monkeypatch.setattr(search.columns, "FULL_RELOAD_SHARE", 1.0)
    writer, reader = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    writer.upsert(services(20))
    reader.search(SearchQuery())
    for i in range(10):
        changed = {**services(20)[i], "themes": ["mantelzorg"], "neighbourhoods": []}
        writer.upsert([changed])
        result = reader.search(SearchQuery(facets=FACETS))
        assert result.facets["themes"] == {"geld-en-schulden": 19 - i, "mantelzorg": i + 1}
        assert result.facets["neighbourhoods"] == {"thamerdal": 19 - i}
    entries = state_of(reader).columns.arrays["themes"]
    assert entries.tail_docs.size < 20  # re-sorted along the way, not an ever-growing tail
    assert reader.search(SearchQuery(filter=Eq("themes", "mantelzorg"))).total == 10


def test_broad_words_rank_name_matches_first_and_count_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More matches than CANDIDATE_CAP: name matches are the candidates, totals and facets
    still count every match."""
    monkeypatch.setattr(search.embedded, "CANDIDATE_CAP", 3)
    backend = backend_at(tmp_path / "i.db")
    backend.upsert(
        [
            *services(12),
            doc(
                "naam-lang",
                "Hulp bij de administratie thuis",
                themes=["geld-en-schulden"],
                analyzer=ANALYZER,
            ),
            doc("naam-kort", "Hulp thuis", themes=["mantelzorg"], analyzer=ANALYZER),
        ]
    )
    result = backend.search(SearchQuery(text="hulp", facets=FACETS, per_page=2))
    assert [h.id for h in result.hits] == ["naam-kort", "naam-lang"]
    assert result.total == 14
    assert result.facets["themes"] == {"geld-en-schulden": 13, "mantelzorg": 1}
    page_two = backend.search(SearchQuery(text="hulp", page=2, per_page=2))
    assert len(page_two.hits) == 2
    assert not {h.id for h in page_two.hits} & {"naam-kort", "naam-lang"}


def test_array_filter_masks_are_kept_per_snapshot_and_follow_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search.columns, "FULL_RELOAD_SHARE", 1.0)  # a tiny index: refreshes
    writer, reader = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    writer.upsert(services(4))
    geld = Eq("themes", "geld-en-schulden")
    assert reader.search(SearchQuery(filter=geld, sort=SortOrder.name)).total == 4
    entries = state_of(reader).columns.arrays["themes"]
    code = entries.values.codes["geld-en-schulden"]
    kept = entries.docs_with([code], state_of(reader).columns.size)
    assert kept is entries.docs_with([code], state_of(reader).columns.size)  # the same mask
    assert not kept.flags.writeable  # shared: no search may change it
    # another process moves one service to another theme: the next snapshot has new masks
    writer.upsert(
        [
            doc(
                "s000",
                "Dienst 000",
                themes=["wonen"],
                groups=["iedereen"],
                wijken=["thamerdal"],
                analyzer=ANALYZER,
            )
        ]
    )
    assert reader.search(SearchQuery(filter=geld, sort=SortOrder.name)).total == 3
    assert reader.search(SearchQuery(filter=Eq("themes", "wonen"))).total == 1
    assert state_of(reader).columns.arrays["themes"] is not entries


def test_array_filter_masks_are_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(search.columns, "MASKS_KEPT", 2)
    backend = backend_at(tmp_path / "i.db")
    backend.upsert(services(3))
    backend.search(SearchQuery(text="hulp"))
    entries = state_of(backend).columns.arrays["themes"]
    size = state_of(backend).columns.size
    for codes in ([1], [2], [1, 2], None):
        entries.docs_with(codes, size)
        assert len(entries._masks) <= 2
