"""Counting searches for the monitor, anonymously and without slowing search down.

Per search only this is kept: the month, the gemeente, the themes it was about (its theme
filters, else the themes whose words occur in the query), the area filter (kern, wijk or the
four digits of a postcode) and whether it found nothing. For a search that found nothing the
text is kept as a count, after removing digits, e-mail addresses and name-like words. Never
who searched, never an IP address, never the raw query.

Counts add up in memory and are written every minute (and at shutdown) with one upsert per
key: no database write on the search path.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.core.models import utcnow
from app.core.periodic import PeriodicWorker
from app.insights.models import SearchTally, ZeroResultQuery
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from search.analysis import fold, stem, tokenize

logger = logging.getLogger(__name__)
_EMAIL = re.compile(r"\S+@\S+")
_HAS_DIGIT = re.compile(r"\d")
MAX_TEXT = 100


def clean_query(text: str) -> str:
    """The query without digits, e-mail addresses and name-like words (capitalised words
    after the first, words with digits), folded to lower case; "" when nothing is left."""
    without_mail = _EMAIL.sub(" ", text)
    kept = []
    for index, word in enumerate(without_mail.split()):
        if _HAS_DIGIT.search(word):
            continue
        if index > 0 and word[:1].isupper():
            continue  # "bij Jan de Vries" → "bij de"
        if len(word) > 30:
            continue
        kept.append(word)
    cleaned = " ".join(fold(w) for w in kept)
    cleaned = re.sub(r"[^\w\s-]", "", cleaned).strip()
    return cleaned[:MAX_TEXT]


def month_start(today: date) -> date:
    return today.replace(day=1)


@dataclass(frozen=True)
class TallyKey:
    month: date
    municipality: str
    theme: str
    area: str
    zero_results: bool


@dataclass(frozen=True)
class Tally:
    """One search as the monitor counts it, without its month."""

    municipality: str
    themes: tuple[str, ...]  # its theme filters, else the themes its words are about
    area: str
    zero_results: bool
    text: str  # a search that found nothing: its cleaned text, else ""


class ThemeWords:
    """Which themes a query is about: the theme's own words and lay words (taxonomy
    ``words``), stemmed like the search does. Reloaded every few minutes."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._loaded_at = -1e9
        self._by_stem: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def themes_of(self, session: Session, query: str) -> list[str]:
        """``session``: the caller's (the search request's): no connection of our own."""
        self._refresh(session)
        found: set[str] = set()
        for word in tokenize(query):
            found |= self._by_stem.get(stem(word), set())
        return sorted(found)

    def _refresh(self, session: Session) -> None:
        now = time.monotonic()
        if now - self._loaded_at < self.ttl_s:
            return
        with self._lock:
            if now - self._loaded_at < self.ttl_s:
                return
            by_stem: dict[str, set[str]] = {}
            rows = session.exec(
                select(TaxonomyTerm.slug, TaxonomyTerm.label, TaxonomyTerm.words)
                .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
                .where(Taxonomy.slug == "themes")
            ).all()
            for slug, label, words in rows:
                for phrase in [label, *(words or [])]:
                    tokens = tokenize(phrase)
                    if len(tokens) == 1:  # single words only: "geld", "schulden", "eenzaam"
                        by_stem.setdefault(stem(tokens[0]), set()).add(slug)
            self._by_stem = by_stem
            self._loaded_at = now


class SearchRecorder:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions
        self.theme_words = ThemeWords()
        self._tallies: Counter[TallyKey] = Counter()
        self._zero: Counter[tuple[date, str, str]] = Counter()
        self._lock = threading.Lock()

    def tally(
        self,
        *,
        session: Session,
        query: str,
        themes: Sequence[str],
        municipality: str | None,
        area: str,
        zero_results: bool,
    ) -> Tally:
        """What is counted of one search (``session``: the search request's, see ThemeWords)."""
        about = list(themes) or (self.theme_words.themes_of(session, query) if query else [])
        return Tally(
            municipality=municipality or "",
            themes=tuple(about),
            area=area,
            zero_results=zero_results,
            text=clean_query(query) if zero_results and query else "",
        )

    def add(self, tally: Tally, *, today: date | None = None) -> None:
        """Count a search (again: a kept answer served twice is two searches)."""
        month = month_start(today or utcnow().date())
        keys = [
            TallyKey(month, tally.municipality, theme, tally.area, tally.zero_results)
            for theme in ["", *tally.themes]
        ]
        with self._lock:
            for key in keys:
                self._tallies[key] += 1
            if tally.text:
                self._zero[(month, tally.municipality, tally.text)] += 1

    def record(
        self,
        *,
        session: Session,
        query: str,
        themes: Sequence[str],
        municipality: str | None,
        area: str,
        zero_results: bool,
        today: date | None = None,
    ) -> Tally:
        tally = self.tally(
            session=session,
            query=query,
            themes=themes,
            municipality=municipality,
            area=area,
            zero_results=zero_results,
        )
        self.add(tally, today=today)
        return tally

    def flush(self, session: Session) -> int:
        """Add the counts gathered so far to the database (in the caller's transaction)."""
        with self._lock:
            tallies, self._tallies = self._tallies, Counter()
            zero, self._zero = self._zero, Counter()
        for key, n in tallies.items():
            _add(
                session,
                SearchTally,
                {
                    "month": key.month,
                    "municipality": key.municipality,
                    "theme": key.theme,
                    "area": key.area,
                    "zero_results": key.zero_results,
                },
                n,
            )
        for (month, municipality, text), n in zero.items():
            _add(
                session,
                ZeroResultQuery,
                {"month": month, "municipality": municipality, "text": text},
                n,
            )
        return sum(tallies.values())

    def pending(self) -> int:
        with self._lock:
            return sum(self._tallies.values())


def _add(
    session: Session,
    model: type[SearchTally] | type[ZeroResultQuery],
    key: dict[str, object],
    n: int,
) -> None:
    """count += n for this key, inserting the row if it is new (one statement, safe when
    several processes flush at once)."""
    table = sa.inspect(model).local_table
    dialect = session.get_bind().dialect.name
    values = {**key, "count": n}
    if dialect == "postgresql":
        pg = postgresql.insert(table).values(values)
        session.execute(
            pg.on_conflict_do_update(
                index_elements=list(key), set_={"count": table.c.count + pg.excluded.count}
            )
        )
    else:
        lite = sqlite.insert(table).values(values)
        session.execute(
            lite.on_conflict_do_update(
                index_elements=list(key), set_={"count": table.c.count + lite.excluded.count}
            )
        )


def area_of(*, neighbourhood: str | None, place: str | None, postcode: str | None) -> str:
    if neighbourhood:
        return f"wijk:{neighbourhood}"
    if place:
        return f"kern:{place}"
    if postcode:
        digits = re.sub(r"\D", "", postcode)[:4]
        return f"pc4:{digits}" if len(digits) == 4 else ""
    return ""


RECORDER = "search_recorder"


def record_search(state: Any, session: Session, params: Any, *, total: int) -> Tally | None:
    """Count one search of the public API (``state.search_recorder``; absent: not counted).
    Never fails a search. Returns what was counted (the answer cache counts it again)."""
    recorder: SearchRecorder | None = getattr(state, RECORDER, None)
    if recorder is None:
        return None
    try:
        return recorder.record(
            session=session,
            query=params.q,
            themes=list(params.theme),
            municipality=params.municipality,
            area=area_of(
                neighbourhood=params.neighbourhood, place=params.place, postcode=params.postcode
            ),
            zero_results=total == 0,
        )
    except Exception:
        logger.exception("counting a search for the monitor failed (the search went on)")
        return None


def count_again(state: Any, tally: Tally) -> None:
    """Count a search whose answer was kept (app/search_api/answers.py)."""
    recorder: SearchRecorder | None = getattr(state, RECORDER, None)
    if recorder is not None:
        recorder.add(tally)


def build_flush_worker(
    recorder: SearchRecorder, engine: Engine, interval_s: float
) -> PeriodicWorker[int]:
    """Writes the counts every ``interval_s`` (and once more at shutdown: ``run_once``)."""
    return PeriodicWorker.on_engine(
        engine,
        name="search-tally",
        job=lambda session, _now: recorder.flush(session),
        interval_s=interval_s,
        first_delay_s=interval_s,
    )
