"""The committed OpenAPI document matches the code and follows the ADR conventions."""

from __future__ import annotations

from pathlib import Path

from app.openapi_export import generate, render

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_code() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(generate()), (
        "openapi/openapi.json is out of date: run `make openapi` and commit it"
    )


def test_every_error_response_is_problem_json_and_every_success_has_api_version() -> None:
    document = generate()
    assert document["servers"] == [{"url": "/api/v1", "description": "Deze server"}]
    assert set(document["info"]["contact"]) == {"name", "email", "url"}
    operation_ids = []
    for path, item in document["paths"].items():
        assert path == path.lower()
        assert not path.endswith("/")
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("description"), f"{method} {path} has no description"
            for status, response in operation["responses"].items():
                if status.startswith(("2", "3")):
                    assert "API-Version" in response["headers"], (method, path, status)
                else:
                    assert list(response["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
    assert len(operation_ids) == len(set(operation_ids))
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
