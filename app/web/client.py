"""The web pages read the public ``/api/v1`` contract, and nothing else.

By default in-process (an ASGI transport to this app's own API: no network hop, same
contract); with ``WEB_API_URL`` the pages run against any sociale-kaart API, so a gemeente
can host the pages apart from the data. The pages forward nothing about the visitor: no
cookies, no IP address, no user agent — only the query itself (and, for a logged-in
professional, the bearer token). One exception stays inside this process: a resident's
feedback hands the visitor's address to the in-process API as the ASGI client, so its
per-client limit (an in-memory, salted hash) counts visitors rather than this server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp

QueryValue = str | int | float | Sequence[str] | None


@dataclass
class ApiError(Exception):
    """The API answered with a problem (RFC 9457); its Dutch title and detail are shown."""

    status: int
    title: str
    detail: str
    # 422: the invalid fields, "body.password" -> its Dutch message (forms show them next
    # to the fields)
    errors: dict[str, str] = field(default_factory=dict)

    def field_errors(self, prefix: str = "body.") -> dict[str, str]:
        """The invalid fields by their form name: "body.password" -> "password"."""
        return {
            name.removeprefix(prefix).split(".")[0]: message
            for name, message in self.errors.items()
        }


UNREACHABLE = (
    "De gegevens zijn even niet bereikbaar",
    "Probeer het over een paar minuten opnieuw.",
)


class PublicApi:
    def __init__(
        self, *, api: ASGIApp | None = None, base_url: str | None = None, timeout_s: float = 10.0
    ) -> None:
        self._api = None if base_url else api
        self._timeout_s = timeout_s
        if base_url:
            self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)
        elif api is not None:
            self._client = self._in_process(api)
        else:  # pragma: no cover - a configuration error
            raise ValueError("PublicApi needs the API app or a base URL")

    def _in_process(self, api: ASGIApp, client: tuple[str, int] | None = None) -> httpx.AsyncClient:
        transport = (
            httpx.ASGITransport(app=api, client=client) if client else httpx.ASGITransport(app=api)
        )
        return httpx.AsyncClient(
            transport=transport,
            base_url="http://api.internal",  # the sub-app itself: paths without /api/v1
            timeout=self._timeout_s,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self, path: str, params: Mapping[str, QueryValue] | None = None, *, token: str | None = None
    ) -> Any:
        query: list[tuple[str, str | int | float | bool | None]] = [
            (key, str(item))
            for key, value in (params or {}).items()
            if value is not None and value != ""
            for item in (value if isinstance(value, list | tuple) else [value])
            if item not in (None, "")
        ]
        return await self._send("GET", path, token=token, params=query)

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        client_address: str | None = None,
    ) -> Any:
        """POST a JSON body (``json``) or a form (``data``); the answer's JSON (None for 204).

        ``client_address``: only for the in-process API, the visitor's address as the ASGI
        client, so per-client limits (feedback) count visitors, not this server. It is never
        sent over the network to another deployment.
        """
        if client_address and self._api is not None:
            async with self._in_process(self._api, (client_address, 0)) as client:
                return await self._send(
                    "POST",
                    path,
                    token=token,
                    headers=headers,
                    client=client,
                    json=json,
                    data=data,
                    params=params,
                )
        return await self._send(
            "POST", path, token=token, json=json, data=data, params=params, headers=headers
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        **content: Any,
    ) -> Any:
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = await (client or self._client).request(method, path, headers=sent, **content)
        except httpx.HTTPError as exc:
            raise ApiError(503, *UNREACHABLE) from exc
        if response.status_code >= 400:
            raise _problem(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # --- the calls the pages make ------------------------------------------------------

    async def search(self, params: Mapping[str, QueryValue], *, token: str | None = None) -> Any:
        return await self.get("/search", params, token=token)

    async def service(self, slug: str, *, token: str | None = None) -> Any:
        return await self.get(f"/services/{slug}", token=token)

    async def organization(self, slug: str) -> Any:
        return await self.get(f"/organizations/{slug}")

    async def terms(self, taxonomy: str) -> list[dict[str, Any]]:
        """themes, target-groups, access-routes or costs."""
        data = await self.get(f"/{taxonomy}")
        return list(data["items"])

    async def neighbourhoods(self, municipality: str | None) -> list[dict[str, Any]]:
        data = await self.get("/neighbourhoods", {"municipality": municipality})
        return list(data["items"])


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors")
    return ApiError(
        response.status_code,
        str(body.get("title") or "Er ging iets mis"),
        str(body.get("detail") or "Probeer het later opnieuw."),
        {
            str(e.get("field")): str(e.get("message"))
            for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, dict) and e.get("field")
        },
    )


# httpx logs every request's full URL at INFO: search words, postcodes. What visitors ask must
# not end up in a log (the access log drops query strings for the same reason).
logging.getLogger("httpx").setLevel(logging.WARNING)
