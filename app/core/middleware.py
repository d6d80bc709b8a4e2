"""Pure ASGI middlewares for HTTP hardening: security headers, body size limit and CORS.

They run on every request (the read path is benchmarked), so each one does a single pass over
the request headers and works on raw ``(bytes, bytes)`` header pairs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_json
from app.core.openapi import API_VERSION

Headers = list[tuple[bytes, bytes]]

# The API only ever returns JSON: nothing may load, nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"

# Swagger UI (FastAPI's docs page) loads its script and stylesheet from jsDelivr, its favicon
# from fastapi.tiangolo.com, inline SVG icons as data: URIs, and fetches the OpenAPI document
# and "Try it out" requests from this origin. Its one inline bootstrap <script> is allowed by
# its SHA-256 hash, computed from the page itself (so no 'unsafe-inline' for scripts); Swagger
# UI sets inline styles, hence 'unsafe-inline' for styles only.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src https://cdn.jsdelivr.net{hashes}; "
    "style-src https://cdn.jsdelivr.net 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

_BASE_SECURITY_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # The public API is meant to be read by other sites (CORS *): cross-origin, not same-site.
    (b"cross-origin-resource-policy", b"cross-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def _add_missing(headers: Iterable[tuple[bytes, bytes]], extra: Headers) -> Headers:
    """``headers`` plus those of ``extra`` whose name the app did not set itself.

    ``Vary`` is a list: it is always added (a second ``Vary`` field adds to the first).
    """
    current = list(headers)
    present = {name.lower() for name, _ in current}
    current.extend(pair for pair in extra if pair[0] not in present or pair[0] == b"vary")
    return current


def route_path(scope: Scope) -> str:
    """The path without the ``root_path`` a proxy may have put in front of the app."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def docs_csp(body: bytes) -> str:
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    return DOCS_CSP.format(hashes=hashes)


class SecurityHeaders:
    """Security headers on every HTTP response; never replaces a header the app set.

    ``hsts``: send ``Strict-Transport-Security`` (production only: it pins browsers to HTTPS
    for a year). ``docs_path``: the Swagger UI page, which gets :data:`DOCS_CSP` instead of the
    strict API policy.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False, docs_path: str | None = None) -> None:
        self.app = app
        self.docs_path = docs_path
        self.headers = [*_BASE_SECURITY_HEADERS, *([_HSTS] if hsts else [])]
        self.api_headers = [*self.headers, (b"content-security-policy", API_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.docs_path is not None and self._is_docs(scope):
            await self.app(scope, receive, self._docs_sender(send))
            return
        extra = self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _add_missing(message.get("headers", ()), extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _is_docs(self, scope: Scope) -> bool:
        path = route_path(scope)
        docs = self.docs_path or ""
        return path == docs or path.startswith(docs + "/")  # also /docs/oauth2-redirect

    def _docs_sender(self, send: Send) -> Send:
        """Buffers the (small) docs page to hash its inline script into the CSP."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_docs(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            csp = (b"content-security-policy", docs_csp(body).encode())
            start["headers"] = _add_missing(start.get("headers", ()), [*self.headers, csp])
            await send(start)
            await send({"type": "http.response.body", "body": body})

        return send_docs


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes the limit."""


# Longer query strings are answered with 414 (no parameter of this API needs more; the longest,
# a search text, is capped at 500 characters and a list filter at 20 values).
MAX_QUERY_STRING_BYTES = 16_384


class BodySizeLimit:
    """Answers ``413`` problem+json for request bodies larger than ``max_bytes`` and ``414``
    for query strings longer than ``MAX_QUERY_STRING_BYTES``.

    A declared ``Content-Length`` is checked before the app runs (the server guarantees the
    body is not longer than declared). A body without one (chunked) is counted while the app
    reads it; when it passes the limit, whatever the app answers to the aborted read is
    replaced by the 413, unless the app had already started its response.
    """

    _BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        kb = f"{max_bytes / 1024:.1f}".removesuffix(".0").replace(".", ",")
        self.detail = f"De inhoud van het verzoek is groter dan de grens van {kb} kB."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
            response = problem_json(
                status=414,
                code="adres-te-lang",
                title="Adres te lang",
                detail=(
                    "Het adres (de query string) is langer dan "
                    f"{MAX_QUERY_STRING_BYTES // 1024} kB. Gebruik minder of kortere zoekwoorden "
                    "en filters."
                ),
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] in self._BODYLESS:
            await self.app(scope, receive, send)
            return
        await self._streamed(scope, receive, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's answer to the aborted read; the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large or started:
                raise
        if too_large and not started:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_json(
            status=413,
            code="te-groot",
            title="Verzoek te groot",
            detail=self.detail,
            instance=scope["path"],
            headers={"Connection": "close"},  # the rest of the body is not read
        )
        await response(scope, receive, send)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PUBLIC_REQUEST_HEADERS = ("Accept", "Accept-Language", "Content-Type")
WRITE_REQUEST_HEADERS = (*PUBLIC_REQUEST_HEADERS, "Authorization", "If-Match")
EXPOSED_HEADERS = ("API-Version", "ETag", "Location")


def _join(values: Iterable[str]) -> bytes:
    return ", ".join(values).encode()


class Cors:
    """CORS: public reads open to every origin, writes only for ``write_origins``.

    Starlette's ``CORSMiddleware`` cannot allow different methods per origin, hence this one.

    * Simple/actual requests: ``GET``/``HEAD``/``OPTIONS`` get ``Access-Control-Allow-Origin: *``
      (no credentials, cacheable, no ``Vary``); write methods get the echoed origin (with
      ``Vary: Origin``) only when it is listed, else no CORS headers at all.
    * Preflights are answered here (204): a listed origin gets every method and the write
      request headers (``Authorization``, ``If-Match``); any other origin gets the public
      read policy when it asks for a safe method, and no allow headers when it asks for a
      write method (the browser then blocks the request).
    """

    def __init__(self, app: ASGIApp, *, write_origins: Iterable[str], max_age: int = 600) -> None:
        self.app = app
        self.write_origins = frozenset(o.encode("latin-1") for o in write_origins)
        expose = (b"access-control-expose-headers", _join(EXPOSED_HEADERS))
        self.public_response: Headers = [(b"access-control-allow-origin", b"*"), expose]
        self.write_response: Headers = [expose, (b"vary", b"Origin")]
        common = [(b"access-control-max-age", str(max_age).encode()), (b"vary", b"Origin")]
        self.public_preflight: Headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", _join(SAFE_METHODS)),
            (b"access-control-allow-headers", _join(PUBLIC_REQUEST_HEADERS)),
            *common,
        ]
        self.write_preflight: Headers = [
            (b"access-control-allow-methods", _join((*SAFE_METHODS, *WRITE_METHODS))),
            (b"access-control-allow-headers", _join(WRITE_REQUEST_HEADERS)),
            *common,
        ]
        self.refused_preflight: Headers = [(b"vary", b"Origin")]
        self.safe_bytes = frozenset(m.encode() for m in SAFE_METHODS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin: bytes | None = None
        requested: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                requested = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        if method == "OPTIONS" and requested is not None:
            await self._preflight(origin, requested.strip().upper(), send)
            return
        if method in SAFE_METHODS:
            extra = self.public_response
        elif origin in self.write_origins:
            extra = [(b"access-control-allow-origin", origin), *self.write_response]
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _add_missing(message.get("headers", ()), extra)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: bytes, requested: bytes, send: Send) -> None:
        if origin in self.write_origins:
            headers = [(b"access-control-allow-origin", origin), *self.write_preflight]
        elif requested in self.safe_bytes:
            headers = self.public_preflight
        else:
            headers = self.refused_preflight
        await send({"type": "http.response.start", "status": 204, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b""})


class ApiVersionHeader:
    """Adds ``API-Version`` to every response (Dutch API Design Rules /core/version-header)."""

    def __init__(self, app: ASGIApp, *, version: str = API_VERSION) -> None:
        self.app = app
        self.version = version.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"api-version", self.version)]
            await send(message)

        await self.app(scope, receive, send_with_header)
