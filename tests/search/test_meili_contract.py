"""Contract tests of the Meilisearch backend, without a Meilisearch server.

How requests are captured: the official client (meilisearch 0.43) sends every call through
``requests.post/get/patch/put/delete``, i.e. a fresh ``requests.Session`` per call. We replace
``requests.Session.send`` (monkeypatch), so the real client code and the real ``requests``
request preparation (URL, query string, JSON body bytes, headers, timeout) run; only the
socket is replaced by ``FakeMeilisearch``, a small in-memory server.

Every request is checked against Meilisearch's own OpenAPI document
(``../shared/standards/meilisearch/openapi-1.53.0.json``): the operation must exist, query
parameters must be declared, the body must validate against the operation's request schema
(plus: no top-level keys the schema does not declare, to catch typos like ``hitsPerpage``),
and every fake answer must validate against the operation's response schema for its status,
so the fakes are honest. ``$ref``s resolve locally through a ``referencing`` registry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from search.analysis import Analyzer
from search.highlight import POST, PRE
from search.meili import IndexTaskFailedError, MeilisearchBackend, translate_filter
from search.settings import index_settings
from search.types import (
    And,
    Eq,
    Exists,
    Filter,
    GeoPoint,
    GeoRadius,
    In,
    Not,
    Or,
    Range,
    SearchQuery,
    SearchUnavailableError,
    SortOrder,
)

OPENAPI_PATH = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "standards"
    / "meilisearch"
    / "openapi-1.53.0.json"
)
BASE_URI = "urn:meilisearch:openapi-1.53.0"
URL = "http://meili.test:7700"
API_KEY = "test-key"
TS = "2025-01-01T10:00:00.000000Z"
VOCABULARY = ["schuld", "hulp", "verlening", "aanvraag", "geld", "zorgen"]
CORPUS = ["schuldhulpverlening"]  # a compound the indexed texts use: searched whole + parts


# --- the OpenAPI document -------------------------------------------------------------------


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _openapi_to_json_schema(node: Any) -> Any:
    """Rewrite OpenAPI-only ``nullable: true`` (3.0) as JSON Schema; 3.1 documents have none."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_json_schema(v) for k, v in node.items()}
    if out.get("nullable") is True:
        del out["nullable"]
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            out["type"] = kind if "null" in kind else [*kind, "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _fix_errata(doc: dict[str, Any]) -> None:
    """``AttributePatterns`` (search ``facets``) is ``#[serde(transparent)]`` over
    ``Vec<String>`` in Meilisearch, so the wire format is ``["themes", …]``; utoipa documents
    the inner struct as ``{"patterns": [...]}``. Patched only while the document has that shape."""
    schemas = doc["components"]["schemas"]
    patterns = schemas.get("AttributePatterns", {})
    if patterns.get("type") == "object" and set(patterns.get("properties", {})) == {"patterns"}:
        schemas["AttributePatterns"] = patterns["properties"]["patterns"]


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]

    def pointer(self, *parts: str) -> str:
        return _pointer("paths", self.template, self.method.lower(), *parts)


class SchemaViolation(AssertionError):
    pass


class OpenApi:
    def __init__(self, document: dict[str, Any]) -> None:
        doc = cast(dict[str, Any], _openapi_to_json_schema(document))
        _fix_errata(doc)
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(BASE_URI, resource)
        self._validators: dict[str, Any] = {}
        self.templates = sorted(doc["paths"], key=lambda t: t.count("{"))

    def operation(self, method: str, path: str) -> Operation:
        segments = path.strip("/").split("/")
        for template in self.templates:
            parts = template.strip("/").split("/")
            if len(parts) != len(segments):
                continue
            if all(
                p == s or (p.startswith("{") and p.endswith("}"))
                for p, s in zip(parts, segments, strict=True)
            ):
                spec = self.doc["paths"][template].get(method.lower())
                if spec is not None:
                    return Operation(method, template, spec)
        raise SchemaViolation(f"{method} {path} is not an operation of the Meilisearch API")

    def errors(self, pointer: str, instance: Any) -> list[str]:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{BASE_URI}#{pointer}"}, registry=self.registry
            )
        found = self._validators[pointer].iter_errors(instance)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]

    def _resolved(self, pointer: str) -> dict[str, Any]:
        resolver = self.registry.resolver(base_uri=BASE_URI)
        schema = cast(dict[str, Any], resolver.lookup(f"#{pointer}").contents)
        while "$ref" in schema:
            schema = cast(dict[str, Any], resolver.lookup(schema["$ref"]).contents)
        return schema

    def check_request(
        self, op: Operation, query: dict[str, list[str]], content_type: str | None, body: Any
    ) -> None:
        where = f"{op.method} {op.template}"
        declared = {p["name"]: p for p in op.spec.get("parameters", []) if p["in"] == "query"}
        for name, values in query.items():
            if name not in declared:
                raise SchemaViolation(f"{where}: undeclared query parameter {name!r}")
            index = op.spec["parameters"].index(declared[name])
            for value in values:
                problems = self.errors(op.pointer("parameters", str(index), "schema"), value)
                if problems:
                    raise SchemaViolation(f"{where}: query {name}={value!r}: {problems}")
        request_body = op.spec.get("requestBody")
        if request_body is None:
            if body is not None:
                raise SchemaViolation(f"{where} takes no body, got {body!r}")
            return
        if body is None:
            raise SchemaViolation(f"{where} needs a body")
        if content_type is None or content_type not in request_body["content"]:
            raise SchemaViolation(f"{where}: content type {content_type!r} not accepted")
        pointer = op.pointer("requestBody", "content", content_type, "schema")
        problems = self.errors(pointer, body)
        if problems:
            raise SchemaViolation(f"{where}: request body invalid: {problems}")
        schema = self._resolved(pointer)
        if (
            isinstance(body, dict)
            and "properties" in schema
            and "additionalProperties" not in schema
        ):
            unknown = set(body) - set(schema["properties"])
            if unknown:
                raise SchemaViolation(f"{where}: keys not in the schema: {sorted(unknown)}")

    def check_response(self, op: Operation, status: int, body: Any) -> None:
        where = f"{op.method} {op.template} → {status}"
        response = op.spec["responses"].get(str(status))
        if response is None:
            raise SchemaViolation(f"{where}: status not documented for this operation")
        pointer = op.pointer("responses", str(status), "content", "application/json", "schema")
        problems = self.errors(pointer, body)
        if problems:
            raise SchemaViolation(f"{where}: fake response invalid: {problems}")


# --- the fake server ------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    template: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    timeout: Any
    status: int = 0
    reply: Any = None


@dataclass
class FakeIndex:
    primary_key: str | None
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def view(self, uid: str) -> dict[str, Any]:
        return {"uid": uid, "primaryKey": self.primary_key, "createdAt": TS, "updatedAt": TS}


def _error(code: str, message: str) -> dict[str, Any]:
    link = f"https://docs.meilisearch.com/errors#{code}"
    return {"message": message, "code": code, "type": "invalid_request", "link": link}


Effect = Callable[[], "tuple[str, str] | None"]


class FakeMeilisearch:
    """Answers like Meilisearch 1.x (documented shapes); tasks finish when first polled."""

    def __init__(self, api: OpenApi) -> None:
        self.api = api
        self.requests: list[Sent] = []
        self.violations: list[str] = []
        self.indexes: dict[str, FakeIndex] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.failures: dict[str, tuple[str, str]] = {}
        self.stuck = False
        self.transport_error: Exception | None = None
        self.search_hits: list[dict[str, Any]] = []
        self.search_total: int | None = None
        self.facet_distribution: dict[str, dict[str, int]] = {}

    # transport ---------------------------------------------------------------------------

    def send(self, request: Any, **kwargs: Any) -> Any:
        if self.transport_error is not None:
            raise self.transport_error
        url = urlsplit(request.url)
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        body = None if raw in (None, "", "null") else json.loads(raw)
        try:
            op = self.api.operation(request.method, url.path)
            sent = Sent(
                method=request.method,
                path=url.path,
                template=op.template,
                query=parse_qs(url.query),
                body=body,
                headers=dict(request.headers),
                timeout=kwargs.get("timeout"),
            )
            self.api.check_request(op, sent.query, request.headers.get("Content-Type"), body)
            self.requests.append(sent)
            sent.status, sent.reply = self._handle(sent)
            self.api.check_response(op, sent.status, sent.reply)
        except SchemaViolation as exc:
            self.violations.append(str(exc))
            raise
        response = requests.Response()
        response.status_code = sent.status
        response._content = json.dumps(sent.reply).encode()
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        response.reason = "OK" if sent.status < 400 else "Error"
        return response

    # state helpers -------------------------------------------------------------------------

    def add_index(self, uid: str, primary_key: str | None = "id", docs: int = 0) -> FakeIndex:
        index = FakeIndex(primary_key)
        for i in range(docs):
            index.documents[f"old-{i}"] = {"id": f"old-{i}"}
        self.indexes[uid] = index
        return index

    def fail_next(self, kind: str, code: str, message: str) -> None:
        self.failures[kind] = (code, message)

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request except task polls."""
        return [(r.method, r.path) for r in self.requests if r.template != "/tasks/{task_id}"]

    def last(self, method: str, path: str) -> Sent:
        return [r for r in self.requests if (r.method, r.path) == (method, path)][-1]

    # handlers ------------------------------------------------------------------------------

    def _enqueue(self, kind: str, index_uid: str | None, effect: Effect) -> tuple[int, Any]:
        uid = len(self.tasks)
        task: dict[str, Any] = {
            "uid": uid,
            "batchUid": None,
            "indexUid": index_uid,
            "status": "enqueued",
            "type": kind,
            "canceledBy": None,
            "details": {},
            "error": None,
            "duration": None,
            "enqueuedAt": TS,
        }
        if not self.stuck:
            failure = self.failures.pop(kind, None) or effect()
            task.update(
                batchUid=uid,
                status="failed" if failure else "succeeded",
                error=_error(*failure) if failure else None,
                duration="PT0.001S",
                startedAt=TS,
                finishedAt=TS,
            )
        self.tasks[uid] = task
        summary = {"taskUid": uid, "indexUid": index_uid, "status": "enqueued", "type": kind}
        return 202, {**summary, "enqueuedAt": TS}

    def _not_found(self, uid: str) -> tuple[int, Any]:
        return 404, _error("index_not_found", f"Index `{uid}` not found.")

    def _handle(self, sent: Sent) -> tuple[int, Any]:
        parts = sent.path.strip("/").split("/")
        uid = parts[1] if len(parts) > 1 else ""
        index = self.indexes.get(uid)
        route = (sent.method, sent.template)
        body = sent.body
        if route == ("GET", "/health"):
            return 200, {"status": "available"}
        if route == ("GET", "/tasks/{task_id}"):
            task = self.tasks.get(int(parts[1]))
            if task is None:
                return 404, _error("task_not_found", f"Task `{parts[1]}` not found.")
            return 200, task
        if route == ("GET", "/indexes/{index_uid}"):
            return (200, index.view(uid)) if index else self._not_found(uid)
        if route == ("GET", "/indexes/{index_uid}/stats"):
            if index is None:
                return self._not_found(uid)
            return 200, {
                "numberOfDocuments": len(index.documents),
                "indexSize": 4096,
                "usedIndexSize": 2048,
                "rawDocumentDbSize": 1024,
                "avgDocumentSize": 512,
                "isIndexing": False,
                "fieldDistribution": {"id": len(index.documents)},
            }
        if route == ("POST", "/indexes/{index_uid}/search"):
            if index is None:
                return self._not_found(uid)
            per_page = body.get("hitsPerPage") or 20
            total = len(self.search_hits) if self.search_total is None else self.search_total
            reply: dict[str, Any] = {
                "hits": self.search_hits,
                "query": body.get("q") or "",
                "processingTimeMs": 1,
                "hitsPerPage": per_page,
                "page": body.get("page") or 1,
                "totalPages": math.ceil(total / per_page),
                "totalHits": total,
            }
            if body.get("facets"):
                reply["facetDistribution"] = {
                    f: self.facet_distribution.get(f, {}) for f in body["facets"]
                }
            return 200, reply
        if route == ("POST", "/indexes"):
            new_uid, primary_key = body["uid"], body.get("primaryKey")

            def create() -> tuple[str, str] | None:
                if new_uid in self.indexes:
                    return "index_already_exists", f"Index `{new_uid}` already exists."
                self.indexes[new_uid] = FakeIndex(primary_key)
                return None

            return self._enqueue("indexCreation", new_uid, create)
        if route == ("DELETE", "/indexes/{index_uid}"):

            def drop() -> tuple[str, str] | None:
                if self.indexes.pop(uid, None) is None:
                    return "index_not_found", f"Index `{uid}` not found."
                return None

            return self._enqueue("indexDeletion", uid, drop)
        if route == ("PATCH", "/indexes/{index_uid}/settings"):

            def configure() -> tuple[str, str] | None:
                self.indexes.setdefault(uid, FakeIndex(None)).settings.update(body)
                return None

            return self._enqueue("settingsUpdate", uid, configure)
        if route in {
            ("POST", "/indexes/{index_uid}/documents"),
            ("PUT", "/indexes/{index_uid}/documents"),
        }:
            primary_key = sent.query.get("primaryKey", [None])[0]

            def add() -> tuple[str, str] | None:
                target = self.indexes.setdefault(uid, FakeIndex(primary_key))
                for doc in body:
                    target.documents[doc[target.primary_key or "id"]] = doc
                return None

            return self._enqueue("documentAdditionOrUpdate", uid, add)
        if route == ("POST", "/indexes/{index_uid}/documents/delete-batch"):

            def remove() -> tuple[str, str] | None:
                for doc_id in body:
                    self.indexes[uid].documents.pop(doc_id, None)
                return None

            return self._enqueue("documentDeletion", uid, remove)
        if route == ("POST", "/swap-indexes"):

            def swap() -> tuple[str, str] | None:
                for pair in body:
                    a, b = pair["indexes"]
                    missing = [u for u in (a, b) if u not in self.indexes]
                    if missing:
                        return "index_not_found", f"Indexes {missing} not found."
                    self.indexes[a], self.indexes[b] = self.indexes[b], self.indexes[a]
                return None

            return self._enqueue("indexSwap", None, swap)
        raise SchemaViolation(f"the fake does not implement {sent.method} {sent.template}")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> OpenApi:
    if not OPENAPI_PATH.is_file():
        pytest.skip(
            f"../shared absent: Meilisearch OpenAPI document not found at {OPENAPI_PATH}; "
            "Meilisearch contract tests skipped"
        )
    return OpenApi(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))


@pytest.fixture
def fake(openapi: OpenApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMeilisearch]:
    server = FakeMeilisearch(openapi)
    monkeypatch.setattr(requests.Session, "send", server.send)
    yield server
    assert not server.violations, server.violations


@pytest.fixture
def backend(fake: FakeMeilisearch) -> MeilisearchBackend:
    return MeilisearchBackend(
        url=URL,
        api_key=API_KEY,
        timeout_s=1.5,
        analyzer=Analyzer(vocabulary=VOCABULARY, corpus=CORPUS),
        task_timeout_s=2.0,
    )


@pytest.fixture
def ready(fake: FakeMeilisearch, backend: MeilisearchBackend) -> MeilisearchBackend:
    """A backend whose live index exists (as after apply_settings); no request sent yet."""
    fake.add_index("services")
    return backend


def document(doc_id: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": doc_id,
        "slug": f"dienst-{doc_id}",
        "name": f"Dienst {doc_id}",
        "summary": "Hulp bij schulden",
        "themes": ["geld-en-schulden"],
        "age_min": 0,
        "age_max": 120,
        "search_terms": "schuld hulp",
        "_geo": {"lat": 52.2231, "lng": 4.8257},
    }
    doc.update(extra)
    return doc


def assert_every_write_awaited(fake: FakeMeilisearch) -> None:
    """Each task-returning request is followed by polls of that very task until it ends."""
    for i, sent in enumerate(fake.requests):
        if sent.status == 202:
            poll = fake.requests[i + 1]
            assert (poll.method, poll.path) == ("GET", f"/tasks/{sent.reply['taskUid']}")


def search_body(fake: FakeMeilisearch) -> dict[str, Any]:
    return cast(dict[str, Any], fake.last("POST", "/indexes/services/search").body)


# --- the schema checker itself can fail -------------------------------------------------------


def test_schema_checker_rejects_invalid_requests_and_responses(openapi: OpenApi) -> None:
    create = openapi.operation("POST", "/indexes")
    with pytest.raises(SchemaViolation, match="request body invalid"):
        openapi.check_request(create, {}, "application/json", {"uid": "x", "primary": "id"})
    with pytest.raises(SchemaViolation, match="request body invalid"):
        openapi.check_request(create, {}, "application/json", {"primaryKey": "id"})
    search = openapi.operation("POST", "/indexes/services/search")
    with pytest.raises(SchemaViolation, match="keys not in the schema"):
        openapi.check_request(search, {}, "application/json", {"q": "x", "hitsPerpage": 5})
    with pytest.raises(SchemaViolation, match="request body invalid"):
        openapi.check_request(
            search, {}, "application/json", {"q": "x", "matchingStrategy": "first"}
        )
    documents = openapi.operation("POST", "/indexes/services/documents")
    with pytest.raises(SchemaViolation, match="undeclared query parameter"):
        openapi.check_request(documents, {"primary_key": ["id"]}, "application/json", [])
    task = openapi.operation("GET", "/tasks/1")
    with pytest.raises(SchemaViolation, match="fake response invalid"):
        openapi.check_response(
            task, 200, {"uid": 1, "status": "done", "type": "settingsUpdate", "enqueuedAt": TS}
        )
    with pytest.raises(SchemaViolation, match="not documented"):
        openapi.check_response(openapi.operation("GET", "/health"), 404, {})
    with pytest.raises(SchemaViolation, match="not an operation"):
        openapi.operation("POST", "/indexes/services/frobnicate")


def test_facets_erratum_is_the_documented_array(openapi: OpenApi) -> None:
    search = openapi.operation("POST", "/indexes/services/search")
    openapi.check_request(search, {}, "application/json", {"facets": ["themes"]})
    with pytest.raises(SchemaViolation):
        openapi.check_request(search, {}, "application/json", {"facets": "themes"})


# --- settings and index creation --------------------------------------------------------------


def test_apply_settings_creates_the_index_with_primary_key_id_first(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    settings = index_settings(synonyms={"schuldhulp": ["schuldhulpverlening"]})
    backend.apply_settings(settings)
    assert fake.writes() == [
        ("GET", "/indexes/services"),
        ("POST", "/indexes"),
        ("PATCH", "/indexes/services/settings"),
    ]
    assert fake.last("POST", "/indexes").body == {"uid": "services", "primaryKey": "id"}
    assert fake.last("PATCH", "/indexes/services/settings").body == settings
    assert fake.indexes["services"].primary_key == "id"
    assert_every_write_awaited(fake)
    first = fake.requests[0]
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert all(r.timeout == 2 for r in fake.requests)  # timeout_s=1.5 → whole seconds


def test_apply_settings_on_an_existing_index_only_patches(
    fake: FakeMeilisearch, ready: MeilisearchBackend
) -> None:
    ready.apply_settings(index_settings())
    assert fake.writes() == [("GET", "/indexes/services"), ("PATCH", "/indexes/services/settings")]


def test_an_index_with_another_primary_key_is_refused(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    fake.add_index("services", primary_key="slug")
    with pytest.raises(SearchUnavailableError, match="primary key 'slug'"):
        backend.apply_settings(index_settings())
    assert fake.writes() == [("GET", "/indexes/services")]


def test_failed_settings_task_raises(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    fake.fail_next(
        "settingsUpdate", "invalid_settings_ranking_rules", "`wordz` ranking rule is invalid."
    )
    with pytest.raises(IndexTaskFailedError, match="ranking rule is invalid") as info:
        ready.apply_settings(index_settings())
    assert info.value.code == "invalid_settings_ranking_rules"
    assert isinstance(info.value, SearchUnavailableError)


def test_settings_are_sent_before_documents(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    backend.apply_settings(index_settings())
    backend.upsert([document("a")])
    writes = fake.writes()
    assert writes.index(("PATCH", "/indexes/services/settings")) < writes.index(
        ("POST", "/indexes/services/documents")
    )


# --- documents --------------------------------------------------------------------------------


def test_upsert_sends_documents_with_primary_key_and_geo(
    fake: FakeMeilisearch, ready: MeilisearchBackend
) -> None:
    ready.upsert(
        [document("a"), document("b", _geo={"lat": 52, "lng": -4}), document("c", _geo=None)]
    )
    sent = fake.last("POST", "/indexes/services/documents")
    assert sent.query == {"primaryKey": ["id"]}
    assert [d["id"] for d in sent.body] == ["a", "b", "c"]
    assert sent.body[0]["_geo"] == {"lat": 52.2231, "lng": 4.8257}
    geo_b = sent.body[1]["_geo"]
    assert geo_b == {"lat": 52.0, "lng": -4.0}
    assert all(isinstance(v, float) for v in geo_b.values())
    assert "_geo" not in sent.body[2]
    assert set(fake.indexes["services"].documents) == {"a", "b", "c"}
    assert_every_write_awaited(fake)


@pytest.mark.parametrize(
    "geo",
    [
        {"lat": 91.0, "lng": 4.8},
        {"lat": 52.2, "lng": -180.5},
        {"lat": "52.2", "lng": 4.8},
        {"lat": True, "lng": 4.8},
        {"lat": math.nan, "lng": 4.8},
        {"lat": 52.2},
        {"lat": 52.2, "lng": 4.8, "alt": 3.0},
        [52.2, 4.8],
        "52.2,4.8",
    ],
)
def test_malformed_geo_raises_before_anything_is_sent(
    fake: FakeMeilisearch, ready: MeilisearchBackend, geo: Any
) -> None:
    with pytest.raises(ValueError, match="document bad-geo"):
        ready.upsert([document("fine"), document("bad-geo", _geo=geo)])
    assert fake.requests == []


def test_invalid_document_id_raises_before_anything_is_sent(
    fake: FakeMeilisearch, ready: MeilisearchBackend
) -> None:
    with pytest.raises(ValueError, match="document id"):
        ready.upsert([document("a"), document("a b")])
    assert fake.requests == []


def test_failed_document_task_raises_with_the_task_error(
    fake: FakeMeilisearch, ready: MeilisearchBackend
) -> None:
    message = "The document with the id: `a` contains an invalid `_geo` field."
    fake.fail_next("documentAdditionOrUpdate", "invalid_document_geo_field", message)
    with pytest.raises(IndexTaskFailedError, match="contains an invalid `_geo` field") as info:
        ready.upsert([document("a")])
    assert info.value.code == "invalid_document_geo_field"


def test_upsert_never_creates_an_index_without_settings(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    with pytest.raises(SearchUnavailableError, match="does not exist"):
        backend.upsert([document("a")])
    assert fake.writes() == [("GET", "/indexes/services")]
    assert "services" not in fake.indexes


def test_delete_sends_ids_and_waits(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    ready.upsert([document("a"), document("b"), document("c")])
    ready.delete(["a", "c", "unknown"])
    assert fake.last("POST", "/indexes/services/documents/delete-batch").body == [
        "a",
        "c",
        "unknown",
    ]
    assert set(fake.indexes["services"].documents) == {"b"}
    assert_every_write_awaited(fake)


def test_empty_writes_send_nothing(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    ready.upsert([])
    ready.delete([])
    assert fake.requests == []


def test_a_task_that_never_finishes_times_out(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    fake.add_index("services")
    fake.stuck = True
    slow = MeilisearchBackend(url=URL, api_key=API_KEY, task_timeout_s=0.2)
    with pytest.raises(SearchUnavailableError, match="timed out"):
        slow.apply_settings(index_settings())
    assert len([r for r in fake.requests if r.template == "/tasks/{task_id}"]) >= 2


# --- filters ----------------------------------------------------------------------------------

FILTER_CASES: list[tuple[Filter, str]] = [
    (Eq("themes", "geld-en-schulden"), 'themes = "geld-en-schulden"'),
    (Eq("organization", 'a"b'), r'organization = "a\"b"'),
    (Eq("organization", "a\\b"), r'organization = "a\\b"'),
    (Eq("organization", 'a\\"b'), r'organization = "a\\\"b"'),
    (Eq("organization", "ends\\"), r'organization = "ends\\"'),
    (Eq("place", "de kwakel"), 'place = "de kwakel"'),
    (
        Eq("municipality", 'x" OR municipality EXISTS OR municipality = "y'),
        r'municipality = "x\" OR municipality EXISTS OR municipality = \"y"',
    ),
    (In("themes", ("geld-en-schulden", "wonen")), 'themes IN ["geld-en-schulden", "wonen"]'),
    (In("access", ('a"b', "c d")), r'access IN ["a\"b", "c d"]'),
    (Eq("age_min", 30), 'age_min = "30"'),
    (Eq("admission_status", True), 'admission_status = "true"'),
    (Range("age_min", lte=30), "age_min <= 30"),
    (Range("age_max", gte=17.5), "age_max >= 17.5"),
    (Range("age_min", gte=12, lte=18.0), "(age_min >= 12 AND age_min <= 18)"),
    (Exists("access"), "(access EXISTS AND access IS NOT NULL)"),
    (Exists("themes"), "(themes EXISTS AND themes IS NOT EMPTY)"),
    (Not(Eq("access", "verwijzing")), 'NOT (access = "verwijzing")'),
    (Not(Or((Eq("themes", "a"), Eq("themes", "b")))), 'NOT (themes = "a" OR themes = "b")'),
    (
        Or((Not(Eq("access", "x")), And((Eq("cost", "gratis"), Range("age_max", gte=65))))),
        '(NOT (access = "x") OR (cost = "gratis" AND age_max >= 65))',
    ),
    (And((Eq("themes", "a"), And(()))), 'themes = "a"'),
    (Or((Eq("themes", "a"), In("themes", ()))), 'themes = "a"'),
]


@pytest.mark.parametrize(("tree", "expected"), FILTER_CASES)
def test_filter_strings_on_the_wire(
    fake: FakeMeilisearch, ready: MeilisearchBackend, tree: Filter, expected: str
) -> None:
    ready.search(SearchQuery(filter=tree))
    assert search_body(fake)["filter"] == expected
    assert translate_filter(tree) == expected


@pytest.mark.parametrize("tree", [In("themes", ()), Or(()), And((Eq("themes", "a"), Not(And(()))))])
def test_a_filter_that_never_matches_sends_nothing(
    fake: FakeMeilisearch, ready: MeilisearchBackend, tree: Filter
) -> None:
    result = ready.search(SearchQuery(filter=tree, facets=("themes",)))
    assert (result.hits, result.total, result.facets) == ([], 0, {"themes": {}})
    assert fake.requests == []


def test_a_filter_that_always_matches_is_left_out(
    fake: FakeMeilisearch, ready: MeilisearchBackend
) -> None:
    ready.search(SearchQuery(filter=And((Range("age_min"), And(())))))
    assert "filter" not in search_body(fake)


UNKNOWN = "unknown filter field"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (SearchQuery(filter=Eq("search_terms", "x")), UNKNOWN),
        (SearchQuery(filter=Eq("_geo", "x")), UNKNOWN),
        (SearchQuery(filter=Eq('themes = "a" OR name', "x")), UNKNOWN),
        (SearchQuery(filter=Not(In("name", ("x",)))), UNKNOWN),
        (SearchQuery(filter=Or((Eq("themes", "a"), Exists("description")))), UNKNOWN),
        (SearchQuery(facets=("themes", "search_terms")), UNKNOWN),
        (SearchQuery(filter=Range("themes", gte=1)), "range filter on a non-numeric field"),
        (SearchQuery(filter=Range("access", lte=3)), "range filter on a non-numeric field"),
        (SearchQuery(filter=Range("age_min", lte=math.nan)), "not a finite number"),
        (SearchQuery(filter=Eq("age_min", math.inf)), "not a finite number"),
        (SearchQuery(sort=SortOrder.distance), "sorting by distance needs a geo point"),
        (SearchQuery(geo_radius=GeoRadius(GeoPoint(95.0, 4.8), 1000)), "lat out of range"),
        (SearchQuery(geo_radius=GeoRadius(GeoPoint(52.2, 4.8), -1)), "negative geo radius"),
        (
            SearchQuery(geo_point=GeoPoint(52.2, 200.0), sort=SortOrder.distance),
            "lng out of range",
        ),
        (SearchQuery(page=0), "invalid page"),
    ],
)
def test_invalid_queries_raise_before_anything_is_sent(
    fake: FakeMeilisearch, ready: MeilisearchBackend, query: SearchQuery, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ready.search(query)
    assert fake.requests == []


# --- search request and response --------------------------------------------------------------


def test_full_search_request(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    ready.search(
        SearchQuery(
            text="Schuldhulpverlening aanvragen",
            filter=And((Eq("themes", "geld-en-schulden"), Range("age_min", lte=30))),
            geo_radius=GeoRadius(GeoPoint(52.2231, 4.8257), 5000.0),
            sort=SortOrder.distance,
            facets=("themes", "access"),
            page=2,
            per_page=10,
        )
    )
    assert search_body(fake) == {
        "q": ready.query_text("Schuldhulpverlening aanvragen"),  # see the query text tests
        "filter": '(themes = "geld-en-schulden" AND age_min <= 30) AND _geoRadius(52.2231, 4.8257, 5000)',
        "sort": ["_geoPoint(52.2231, 4.8257):asc", "geo_precision_rank:asc"],
        "facets": ["themes", "access"],
        "page": 2,
        "hitsPerPage": 10,
        "matchingStrategy": "last",
        "attributesToHighlight": ["name", "summary"],
        "highlightPreTag": PRE,
        "highlightPostTag": POST,
    }


@pytest.mark.parametrize(
    ("sort", "point", "expected"),
    [
        (SortOrder.relevance, None, None),
        (SortOrder.relevance, GeoPoint(52.2, 4.8), None),
        (SortOrder.name, None, ["name_sort:asc"]),
        (
            SortOrder.distance,
            GeoPoint(52.2, -4.75),
            ["_geoPoint(52.2, -4.75):asc", "geo_precision_rank:asc"],
        ),
    ],
)
def test_sort(
    fake: FakeMeilisearch,
    ready: MeilisearchBackend,
    sort: SortOrder,
    point: GeoPoint | None,
    expected: list[str] | None,
) -> None:
    ready.search(SearchQuery(sort=sort, geo_point=point))
    body = search_body(fake)
    assert body.get("sort") == expected
    assert "filter" not in body  # a point alone never filters


@pytest.mark.parametrize(
    ("text", "q"),
    [
        ("", ""),
        ("Eenzáme", "eenzam eenzame"),
        ("schuldh", "schuldh"),
        ("ik kan mijn rekeningen niet meer betalen", "reken betal rekeningen betalen"),
        ('"geld" -schuld OR NOT', "geld schuld or not"),
        (  # ten terms at most; the last typed word stays last (prefix search)
            "twee drie vier vijf zes zeven acht negen tien elf twaalf",
            "twee drie vier vijf zes zev acht neg tien twaalf",
        ),
    ],
)
def test_query_text(fake: FakeMeilisearch, ready: MeilisearchBackend, text: str, q: str) -> None:
    ready.search(SearchQuery(text=text))
    assert search_body(fake)["q"] == q


@pytest.mark.parametrize(
    "text",
    ["Schuldhulpverlening aanvragen", "aanvragen schuldhulpverlening", "hulp bij geldzorgen"],
)
def test_query_text_is_built_from_the_analysis(
    fake: FakeMeilisearch, ready: MeilisearchBackend, text: str
) -> None:
    words = ready.analyzer.query(text)
    last = next(w.original for w in words if w.is_last)
    ready.search(SearchQuery(text=text))
    q = search_body(fake)["q"].split()
    stems = [s for s in dict.fromkeys(w.stem for w in words) if s != last]
    assert q[: len(stems)] == stems  # stems first, in the analyser's order
    assert q[-1] == last  # the word typed last stays last: Meilisearch prefix-matches it
    assert {w.original for w in words} | {p for w in words for p in w.parts} <= set(q)
    assert len(q) == len(set(q)) <= 10


def test_compound_parts_follow_the_stems(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    ready.search(SearchQuery(text="Schuldhulpverlening aanvragen"))
    q = search_body(fake)["q"].split()
    assert q.index("schuldhulpverlen") < q.index("schuld") < q.index("schuldhulpverlening")
    assert q.index("aanvrag") < q.index("hulp") < q.index("verlen") < q.index("aanvragen")


def test_search_response_becomes_hits(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    fake.search_hits = [
        {
            "id": "s1",
            "name": "Schuldhulp & <b>",
            "summary": 'Hulp bij schulden "nu"',
            "_geo": {"lat": 52.2231, "lng": 4.8257},
            "_geoDistance": 1234,
            "_formatted": {
                "id": "s1",
                "name": f"{PRE}Schuld{POST}hulp & <b>",
                "summary": f'Hulp bij {PRE}schulden{POST} "nu"',
            },
        },
        {"id": "s2", "name": "<i>Zonder</i> locatie", "summary": None},
    ]
    fake.search_total = 57
    fake.facet_distribution = {"themes": {"geld-en-schulden": 41, "wonen": 3}}
    result = ready.search(
        SearchQuery(text="schulden", geo_point=GeoPoint(52.2, 4.8), facets=("themes", "access"))
    )
    assert result.total == 57
    assert result.facets == {"themes": {"geld-en-schulden": 41, "wonen": 3}, "access": {}}
    first, second = result.hits
    assert first.id == "s1"
    assert first.distance_m == 1234.0
    assert first.highlight == {
        "name": "<mark>Schuld</mark>hulp &amp; &lt;b&gt;",
        "summary": "Hulp bij <mark>schulden</mark> &quot;nu&quot;",
    }
    assert first.document == {
        "id": "s1",
        "name": "Schuldhulp & <b>",
        "summary": 'Hulp bij schulden "nu"',
        "_geo": {"lat": 52.2231, "lng": 4.8257},
    }
    assert second.distance_m is None  # no coordinates: no distance, no crash
    assert second.highlight == {"name": "&lt;i&gt;Zonder&lt;/i&gt; locatie", "summary": ""}


def test_distance_without_geo_distance_is_computed(
    fake: FakeMeilisearch, ready: MeilisearchBackend
) -> None:
    fake.search_hits = [{"id": "s1", "name": "x", "_geo": {"lat": 52.01, "lng": 4.0}}]
    result = ready.search(SearchQuery(geo_point=GeoPoint(52.0, 4.0), sort=SortOrder.name))
    assert result.hits[0].distance_m == pytest.approx(1112, abs=2)  # 0.01° of latitude


def test_search_on_a_missing_index_is_unavailable(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    with pytest.raises(SearchUnavailableError, match="index_not_found"):
        backend.search(SearchQuery(text="schuld"))


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (requests.ConnectionError("connection refused"), "cannot reach Meilisearch"),
        (requests.Timeout("read timed out"), "timed out"),
        (requests.exceptions.ChunkedEncodingError("broken"), "cannot reach Meilisearch"),
    ],
)
def test_transport_errors_are_search_unavailable(
    fake: FakeMeilisearch, ready: MeilisearchBackend, error: Exception, message: str
) -> None:
    fake.transport_error = error
    with pytest.raises(SearchUnavailableError, match=message):
        ready.search(SearchQuery(text="schuld"))
    with pytest.raises(SearchUnavailableError, match=message):
        ready.apply_settings(index_settings())
    assert ready.health() is False


# --- rebuild ----------------------------------------------------------------------------------


def test_rebuild_builds_a_fresh_index_and_swaps_it_in(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    fake.add_index("services", docs=5)
    settings = index_settings()
    count = backend.rebuild(
        settings, [[document("a"), document("b")], [document("c"), document("a")]]
    )
    assert count == 3
    assert fake.writes() == [
        ("GET", "/indexes/services_new"),
        ("POST", "/indexes"),
        ("PATCH", "/indexes/services_new/settings"),
        ("POST", "/indexes/services_new/documents"),
        ("POST", "/indexes/services_new/documents"),
        ("GET", "/indexes/services"),
        ("POST", "/swap-indexes"),
        ("DELETE", "/indexes/services_new"),
    ]
    assert fake.last("POST", "/indexes").body == {"uid": "services_new", "primaryKey": "id"}
    assert fake.last("PATCH", "/indexes/services_new/settings").body == settings
    assert fake.last("POST", "/swap-indexes").body == [{"indexes": ["services", "services_new"]}]
    assert set(fake.indexes) == {"services"}
    assert set(fake.indexes["services"].documents) == {"a", "b", "c"}
    assert fake.indexes["services"].primary_key == "id"
    assert_every_write_awaited(fake)


def test_rebuild_creates_the_live_index_when_missing(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    assert backend.rebuild(index_settings(), [[document("a")]]) == 1
    writes = fake.writes()
    assert writes[writes.index(("GET", "/indexes/services")) + 1] == ("POST", "/indexes")
    assert [r.body for r in fake.requests if (r.method, r.path) == ("POST", "/indexes")] == [
        {"uid": "services_new", "primaryKey": "id"},
        {"uid": "services", "primaryKey": "id"},
    ]
    assert set(fake.indexes) == {"services"}
    assert set(fake.indexes["services"].documents) == {"a"}


def test_rebuild_removes_a_leftover_new_index_first(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    fake.add_index("services")
    fake.add_index("services_new", docs=2)
    backend.rebuild(index_settings(), [[document("a")]])
    assert fake.writes()[:3] == [
        ("GET", "/indexes/services_new"),
        ("DELETE", "/indexes/services_new"),
        ("POST", "/indexes"),
    ]
    assert set(fake.indexes["services"].documents) == {"a"}


def test_rebuild_failure_keeps_the_live_index(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    live = fake.add_index("services", docs=4)
    fake.fail_next("documentAdditionOrUpdate", "invalid_document_fields", "bad document")
    with pytest.raises(IndexTaskFailedError, match="bad document"):
        backend.rebuild(index_settings(), [[document("a")], [document("b")]])
    assert ("POST", "/swap-indexes") not in fake.writes()
    assert fake.writes()[-1] == ("DELETE", "/indexes/services_new")
    assert fake.indexes == {"services": live}
    assert len(live.documents) == 4


def test_rebuild_with_malformed_geo_in_a_later_batch_keeps_the_live_index(
    fake: FakeMeilisearch, backend: MeilisearchBackend
) -> None:
    live = fake.add_index("services", docs=4)
    with pytest.raises(ValueError, match="document b"):
        backend.rebuild(index_settings(), [[document("a")], [document("b", _geo={"lat": 52.0})]])
    assert [w for w in fake.writes() if w[1] == "/indexes/services_new/documents"] == [
        ("POST", "/indexes/services_new/documents")
    ]
    assert ("POST", "/swap-indexes") not in fake.writes()
    assert fake.indexes == {"services": live}


# --- health and stats -------------------------------------------------------------------------


def test_health(fake: FakeMeilisearch, backend: MeilisearchBackend) -> None:
    assert backend.health() is True
    assert fake.writes() == [("GET", "/health")]
    fake.transport_error = requests.ConnectionError("refused")
    assert backend.health() is False


def test_stats_counts_documents(fake: FakeMeilisearch, ready: MeilisearchBackend) -> None:
    ready.upsert([document("a"), document("b")])
    assert ready.stats().documents == 2
    fake.indexes.clear()
    assert ready.stats().documents == 0
