"""The fuzz harness itself catches what it should: a 5xx, a body off its schema, an
undocumented status and a 4xx that is not problem+json (a tiny app, no database)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.testclient import TestClient

from tests.fuzz.harness import Stats, _fuzz_operation, strategy

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        path: {
            "get": {
                "operationId": path.strip("/"),
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"n": {"type": "integer"}},
                                    "required": ["n"],
                                }
                            }
                        },
                    },
                    "404": {"description": "nope", "content": {"application/json": {}}},
                },
            }
        }
        for path in ("/fine", "/boom", "/off-schema", "/undocumented", "/not-problem")
    },
}


def tiny_app() -> FastAPI:
    app = FastAPI()
    app.get("/fine")(lambda: {"n": 1})
    app.get("/boom")(lambda: PlainTextResponse("kapot", status_code=500))
    app.get("/off-schema")(lambda: {"n": "een"})
    app.get("/undocumented")(lambda: JSONResponse({"n": 1}, status_code=418))
    app.get("/not-problem")(lambda: JSONResponse({"detail": "x"}, status_code=404))
    return app


@pytest.mark.parametrize(
    ("path", "caught"),
    [
        ("/fine", None),
        ("/boom", "Server error"),
        ("/off-schema", "Response violates schema"),
        ("/undocumented", "Undocumented status code"),
        ("/not-problem", "application/problem+json"),
    ],
)
def test_the_harness_reports(path: str, caught: str | None) -> None:
    schema = schemathesis.openapi.from_dict(SPEC)
    operation = schema[path]["GET"]
    stats = Stats()
    error: BaseException | None = None
    with TestClient(tiny_app(), raise_server_exceptions=False) as client:
        try:
            _fuzz_operation(
                client,
                operation,
                strategy(operation, {}),
                headers={},
                base_url="http://testserver",
                excluded=(),
                stats=stats,
            )
        except (Exception, BaseExceptionGroup) as exc:
            error = exc
    if caught is None:
        assert error is None, error
    else:
        assert error is not None, f"{path}: nothing reported"
        assert caught in str(error), str(error)
    assert stats.requests >= 1
