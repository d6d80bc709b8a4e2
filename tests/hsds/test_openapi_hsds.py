"""The committed HSDS OpenAPI document matches the code; the API is read-only."""

from __future__ import annotations

from pathlib import Path

from app.openapi_export import generate, render

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "hsds.json"
HSDS_PATHS = {
    "/",
    "/services",
    "/services/{id}",
    "/organizations",
    "/organizations/{id}",
    "/service_at_locations",
    "/service_at_locations/{id}",
    "/taxonomies",
    "/taxonomies/{id}",
    "/taxonomy_terms",
    "/taxonomy_terms/{id}",
}


def test_committed_hsds_openapi_matches_the_code() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(generate("hsds")), (
        "openapi/hsds.json is out of date: run `make openapi` and commit it"
    )


def test_hsds_document_is_read_only_with_problem_errors() -> None:
    document = generate("hsds")
    assert document["servers"] == [{"url": "/hsds", "description": "Deze server"}]
    assert set(document["paths"]) == HSDS_PATHS
    for path, item in document["paths"].items():
        assert set(item) == {"get"}, f"{path} has a write method"
        operation = item["get"]
        assert operation.get("description"), path
        assert "security" not in operation
        for status, response in operation["responses"].items():
            if not status.startswith(("2", "3")):
                assert list(response["content"]) == ["application/problem+json"], (path, status)
    assert "/services" in document["paths"]
    listing = document["paths"]["/services"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "page",
        "per_page",
        "format",
        "search",
        "taxonomy_term_id",
        "taxonomy_id",
        "organization_id",
        "modified_after",
        "minimal",
        "full",
        "minimum_age",
        "maximum_age",
        "postcode",
        "proximity",
    }
    assert "application/x-ndjson" in listing["responses"]["200"]["content"]
