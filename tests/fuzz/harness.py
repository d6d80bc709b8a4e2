"""Schemathesis cases from the committed OpenAPI documents, sent in-process through the test's
``TestClient`` (the app of tests/conftest.py, on the rolled-back test transaction).

Bounded and deterministic: ``FUZZ_EXAMPLES`` examples per operation (default 8; set e.g.
``FUZZ_EXAMPLES=200`` for a longer run), derandomized, no example database.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {"api": ROOT / "openapi" / "openapi.json", "hsds": ROOT / "openapi" / "hsds.json"}
PREFIXES = {"api": "/api/v1", "hsds": "/hsds"}
DEFAULT_EXAMPLES = 8
PROBLEM_JSON = "application/problem+json"

# Narrow, documented exclusions: (document, operationId) -> checks not run for it, and why.
EXCLUDED_CHECKS: dict[tuple[str, str], tuple[str, ...]] = {}


def examples() -> int:
    return int(os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


@dataclass
class Stats:
    """What one fuzz run did (reported by tests/fuzz/conftest.py)."""

    operations: int = 0
    examples: int = 0
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


STATS: dict[str, Stats] = {}


def load(document: str) -> Any:
    return schemathesis.openapi.from_dict(json.loads(DOCUMENTS[document].read_text()))


def problem_json_for_4xx(response: Any) -> None:
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", "")
        assert content_type.split(";")[0].strip() == PROBLEM_JSON, (
            f"{response.status_code} with content-type {content_type!r}, not {PROBLEM_JSON}"
        )


def send(client: TestClient, case: Case[Any], headers: dict[str, str], base_url: str) -> Any:
    """The case through the test client (httpx): requests-style kwargs translated."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    if kwargs.get("cookies"):
        client.cookies.clear()
        for name, value in kwargs["cookies"].items():
            client.cookies.set(name, value)
    try:
        return client.request(**request)
    finally:
        client.cookies.clear()


def known_path_parameters(client: TestClient, document: str) -> dict[str, dict[str, str]]:
    """Existing ids and slugs of the demo data per path, so generated cases also reach the
    found branch (random path parameters almost always give a 404)."""
    prefix = PREFIXES[document]
    known: dict[str, dict[str, str]] = {}
    if document == "api":
        service = client.get(f"{prefix}/services", params={"size": 1}).json()["items"][0]
        organization = client.get(f"{prefix}/organizations", params={"size": 1}).json()["items"][0]
        known["/services/{slug}"] = {"slug": service["slug"]}
        known["/services/{slug}/confirm"] = {"slug": service["slug"]}
        known["/services/{slug}/feedback"] = {"slug": service["slug"]}
        known["/organizations/{slug}"] = {"slug": organization["slug"]}
        known["/organizations/{slug}/admission-report"] = {"slug": organization["slug"]}
    else:
        for collection in (
            "services",
            "organizations",
            "service_at_locations",
            "taxonomies",
            "taxonomy_terms",
        ):
            page = client.get(f"{prefix}/{collection}", params={"per_page": 1}).json()
            if page.get("contents"):
                known[f"/{collection}/{{id}}"] = {"id": page["contents"][0]["id"]}
    return known


def strategy(operation: Any, known: dict[str, dict[str, str]]) -> Any:
    """Valid inputs, invalid inputs (negative mode) and valid inputs on existing resources."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if operation.path in known:
        strategies.append(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known[operation.path])
        )
    return st.one_of(strategies)


def fuzz(client: TestClient, document: str, run: str, headers: dict[str, str]) -> Stats:
    """Every operation of ``document``: no 5xx, documented status codes, content types and
    bodies, every 4xx problem+json. Failures are collected per operation (shrunk by Hypothesis)."""
    schema = load(document)
    known = known_path_parameters(client, document)
    stats = STATS.setdefault(f"{document}/{run}", Stats())
    for result in schema.get_all_operations():
        operation = result.ok()
        operation_id = operation.definition.raw.get("operationId", operation.label)
        stats.operations += 1
        try:
            _fuzz_operation(
                client,
                operation,
                strategy(operation, known),
                headers=headers,
                base_url=f"http://testserver{PREFIXES[document]}",
                excluded=EXCLUDED_CHECKS.get((document, operation_id), ()),
                stats=stats,
            )
        except (Exception, BaseExceptionGroup) as exc:
            stats.failures.append(f"{run} {operation.label} ({operation_id}): {exc}")
    return stats


def _fuzz_operation(
    client: TestClient,
    operation: Any,
    cases: Any,
    *,
    headers: dict[str, str],
    base_url: str,
    excluded: tuple[str, ...],
    stats: Stats,
) -> None:
    checks = [
        check
        for check in (
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        )
        if check.__name__ not in excluded
    ]

    @hypothesis.settings(
        max_examples=examples(),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(case=cases)
    def one(case: Case[Any]) -> None:
        stats.examples += 1
        response = send(client, case, headers, base_url)
        stats.requests += 1
        stats.by_status[response.status_code] = stats.by_status.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks)
        if "problem_json_for_4xx" not in excluded:
            problem_json_for_4xx(response)

    one()
