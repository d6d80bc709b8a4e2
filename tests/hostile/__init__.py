"""The hostile input catalogue of issue 9 (docs/reliability.md): explicit tests, each a 4xx
problem+json in Dutch or a correct result — never a 500, never a partial write."""

from __future__ import annotations

from typing import Any

from tests.test_api_read import assert_problem

ENGLISH = ("Unprocessable", "Bad Request", "Not Found", "Internal", "Field required")


def assert_dutch_problem(response: Any, status: int) -> dict[str, Any]:
    """A problem+json with this status whose title and detail are Dutch, not a framework default."""
    body = assert_problem(response, status)
    for text in (body["title"], body["detail"]):
        assert not any(word in text for word in ENGLISH), body
    return body
