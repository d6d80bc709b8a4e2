"""Optimistic locking over HTTP: ETag on reads and writes, If-Match required on changes.

Every versioned row (organisation, service, location) has a ``version`` that SQLAlchemy
checks and bumps on each UPDATE (``app/core/models.py``, ``VERSIONED``). The API shows it as
the ``ETag`` header (``"3"``) and as ``version`` in the body. PATCH and DELETE need
``If-Match`` with that ETag: a stale one is 412, a missing one 428 — so an update based on
an old read never silently overwrites someone else's change. ``If-Match: *`` (RFC 9110:
"any current version") is accepted for clients that deliberately want the last write to win.
Two transactions racing past the check are caught by the version check in the UPDATE itself
(``StaleDataError`` → 409).
"""

from __future__ import annotations

from fastapi import Request, Response

from app.core.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def check_if_match(request: Request, version: int) -> None:
    header = request.headers.get("if-match")
    if header is None or not header.strip():
        raise PreconditionRequired(
            "Stuur de header If-Match mee met de ETag (of het veld version) van de versie die u "
            "wijzigt, zodat u niet per ongeluk iemands anders wijziging overschrijft."
        )
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    if "*" in tags:
        return
    if etag(version) not in tags and str(version) not in tags:
        raise PreconditionFailed(
            "Iemand anders heeft dit intussen gewijzigd. Haal de nieuwste versie op en probeer "
            "het opnieuw.",
            headers={"ETag": etag(version)},
        )
