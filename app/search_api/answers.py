"""Whole answers of anonymous searches, kept per process and sent again without FastAPI.

Residents ask the same things: the theme tiles of the start page, "geldzorgen", the next page
of a list. An answer of ``GET /api/v1/search`` depends only on its query string, the search
index and the reference tables its filters are checked against (taxonomy, gemeenten, wijken,
kernen, postcodes). So an anonymous request whose query string was answered before, at the same
index version and reference snapshot (``SearchEngine.answer_tag``), gets the same bytes again
straight from this middleware: no parameter parsing, no dependencies, no thread-pool hand-off.
That is most of what a search costs once the backend's own caches are warm (docs/search.md,
"Speed").

Exact, not a time-based cache: any write to the index (another worker's too: the version is
read from the index file) or to the reference tables in this process makes every kept answer
unusable; another process's reference changes count after SEARCH_REFERENCE_MAX_AGE_S. Only
answers of the search engine itself are kept (never the database fallback's), only 200s, only
for requests without ``Authorization`` (an invalid token must still get its 401). A served
answer is still counted for the monitor (the tally kept with it) and passes the rate limit,
CORS and the other middlewares outside this one.

Bounded by SEARCH_ANSWER_CACHE_MB per process (LRU; 0 turns it off); only answers of the
current tag are kept (a new tag empties the cache), so frequent writes keep it small.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware import route_path
from app.indexing.engine import SearchEngine
from app.insights.recorder import Tally
from search.caches import LRU, CacheStats

# Set in the ASGI scope by the middleware when the route may keep its answer, under this tag.
ANSWER_TAG = "sociale_kaart.search_answer_tag"
_HEADERS = [(b"content-type", b"application/json")]
_ENTRY_OVERHEAD = 200  # the key, the tuple and the entry's bookkeeping, roughly


@dataclass(frozen=True)
class Answer:
    body: bytes
    tally: Tally | None  # counted again for the monitor when served (page 1 only)


class AnswerCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tag: Hashable = None
        self._lock = threading.Lock()
        self._lru: LRU[tuple[Hashable, bytes], Answer] = LRU(
            max_bytes, lambda answer: len(answer.body) + _ENTRY_OVERHEAD
        )

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, tag: Hashable, query_string: bytes) -> Answer | None:
        """The answer kept for this query string at this tag. A tag other than the current
        one means the index or the reference tables changed: every kept answer is then
        unusable, so they all go (instead of taking room until the LRU pushes them out)."""
        if tag != self._tag:
            with self._lock:
                if tag != self._tag:
                    self._tag = tag
                    self._lru.clear()
        return self._lru.get((tag, query_string))

    def put(self, tag: Hashable, query_string: bytes, answer: Answer) -> None:
        """Keep an answer computed under ``tag``; dropped when the tag is no longer the
        current one (a write landed while it was computed)."""
        if tag == self._tag:
            self._lru.put((tag, query_string), answer)

    def stats(self) -> CacheStats:
        return self._lru.stats()

    def reset_counters(self) -> None:
        self._lru.reset_counters()

    def clear(self) -> None:
        self._lru.clear()


ANSWER_CACHE = "search_answers"  # app.state of the /api/v1 app


def keep_answer(request: Request, *, body: bytes, tally: Tally | None) -> None:
    """Keep the route's answer when the middleware marked the request as one to keep."""
    tag = request.scope.get(ANSWER_TAG)
    cache: AnswerCache | None = getattr(request.app.state, ANSWER_CACHE, None)
    if tag is not None and cache is not None:
        cache.put(tag, request.scope["query_string"], Answer(body=body, tally=tally))


class ServeKeptAnswers:
    """ASGI middleware of the ``/api/v1`` app, innermost: serves kept answers of ``path``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: AnswerCache,
        engine: SearchEngine,
        count: Callable[[Tally], None],
        path: str = "/search",
    ) -> None:
        self.app = app
        self.cache = cache
        self.engine = engine
        self.count = count
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.cache.enabled
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and route_path(scope) == self.path
            and not any(name == b"authorization" for name, _ in scope["headers"])
        ):
            tag = self.engine.answer_tag()
            if tag is not None:
                answer = self.cache.get(tag, scope["query_string"])
                if answer is not None:
                    if answer.tally is not None:
                        self.count(answer.tally)
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [
                                *_HEADERS,
                                (b"content-length", str(len(answer.body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": answer.body})
                    return
                scope[ANSWER_TAG] = tag  # the route keeps its answer under the tag read first
        await self.app(scope, receive, send)
