"""The web pages read the public ``/api/v1`` contract, and nothing else.

By default in-process (an ASGI transport to this app's own API: no network hop, same
contract); with ``WEB_API_URL`` the pages run against any sociale-kaart API, so a gemeente
can host the pages apart from the data. The pages forward nothing about the visitor: no
cookies, no IP address, no user agent — only the query itself (and, for a logged-in
professional, the bearer token).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


class PublicApi:
    def __init__(
        self, *, api: ASGIApp | None = None, base_url: str | None = None, timeout_s: float = 10.0
    ) -> None:
        if base_url:
            self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)
        elif api is not None:
            self._client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api),
                base_url="http://api.internal",  # the sub-app itself: paths without /api/v1
                timeout=timeout_s,
            )
        else:  # pragma: no cover - a configuration error
            raise ValueError("PublicApi needs the API app or a base URL")

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
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self._client.get(path, params=query, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(
                503,
                "De gegevens zijn even niet bereikbaar",
                "Probeer het over een paar minuten opnieuw.",
            ) from exc
        if response.status_code >= 400:
            raise _problem(response)
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
    return ApiError(
        response.status_code,
        str(body.get("title") or "Er ging iets mis"),
        str(body.get("detail") or "Probeer het later opnieuw."),
    )
