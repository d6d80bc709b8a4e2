"""Per-client rate limits that keep no address (AVG: privacy by design).

``ClientRateLimiter`` counts hits per client in memory, in this process only, under
``HMAC-SHA256(salt, address)`` with a random salt that never leaves memory and is replaced
whenever no entry is left; entries go when their window has passed. ``ClientRateLimit``
is the ASGI middleware that applies such limiters to the public search paths (429
problem+json with ``Retry-After``). Resident feedback uses a limiter of its own
(app/feedback). With several server processes or replicas every process counts for itself:
the effective limit is the setting times the number of processes behind the load balancer
(docs/reliability.md, "Limieten").
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import problem_json


class ClientRateLimiter:
    """At most ``limit`` hits per client within ``window_s`` seconds, in this process only.

    ``max_clients`` bounds the memory: beyond it the clients quiet for longest are forgotten.
    """

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 3600.0,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self.clock = clock
        self._salt = secrets.token_bytes(32)
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, address: str) -> str:
        return hmac.new(self._salt, address.encode(), hashlib.sha256).hexdigest()

    def _prune(self, now: float) -> None:
        """Forget clients whose last hit left the window (the dict is ordered by last hit)."""
        horizon = now - self.window_s
        while self._hits:
            key, hits = next(iter(self._hits.items()))
            if hits and hits[-1] > horizon:
                break
            del self._hits[key]
        if not self._hits:
            self._salt = secrets.token_bytes(32)

    def retry_after(self, address: str) -> int | None:
        """Seconds until this client may send again; None when it may now."""
        with self._lock:
            now = self.clock()
            hits = self._hits.get(self._key(address))
            if hits is None:
                return None
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) < self.limit:
                return None
            return max(1, math.ceil(hits[0] + self.window_s - now))

    def record(self, address: str) -> None:
        with self._lock:
            now = self.clock()
            self._prune(now)
            key = self._key(address)
            hits = self._hits.setdefault(key, deque())
            hits.append(now)
            self._hits.move_to_end(key)
            while len(self._hits) > self.max_clients:
                self._hits.popitem(last=False)

    def acquire(self, address: str) -> int | None:
        """Record a hit when the client may; else the seconds to wait (nothing recorded)."""
        wait = self.retry_after(address)
        if wait is None:
            self.record(address)
        return wait

    def __len__(self) -> int:
        return len(self._hits)

    def stored_keys(self) -> list[str]:
        """The stored keys (hashes), for tests: never an address."""
        return list(self._hits)


@dataclass(frozen=True)
class LimitRule:
    paths: frozenset[str]
    limiter: ClientRateLimiter
    detail: str


class ClientRateLimit:
    """429 problem+json for a client over its limit on these exact paths (GET and HEAD).

    The client is the ASGI client address: the peer, or — behind a reverse proxy — what
    uvicorn's ``--proxy-headers`` made of X-Forwarded-For. Requests the web pages make to
    the API in-process do not pass here: a page view counts once, on its own path.
    """

    def __init__(self, app: ASGIApp, *, rules: Sequence[LimitRule]) -> None:
        self.app = app
        self.rules = {path: rule for rule in rules for path in rule.paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.rules.get(scope["path"]) if scope["type"] == "http" else None
        if rule is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = rule.limiter.acquire(client[0] if client else "")
        if wait is None:
            await self.app(scope, receive, send)
            return
        response = problem_json(
            status=429,
            code="te-veel-pogingen",
            title="Te veel zoekopdrachten",
            detail=rule.detail,
            instance=scope["path"],
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)
