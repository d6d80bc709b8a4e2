"""The shared backend contract tests against a live Meilisearch server.

Runs only when ``MEILI_URL`` is set (``MEILI_API_KEY`` optional), e.g.::

    docker run --rm -p 7700:7700 getmeili/meilisearch:v1.53
    MEILI_URL=http://127.0.0.1:7700 .venv/bin/pytest -ra tests/search/test_meili_live.py

The tests are those of ``tests/search/test_backend_contract.py`` (imported below); only the
``search_backend`` fixture is replaced: a ``MeilisearchBackend`` on its own index uid per
test, with the same settings and analyzer as the embedded run, deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from app.indexing.service import current_settings
from search.backend import SearchBackend
from search.meili import MeilisearchBackend

if not os.environ.get("MEILI_URL"):
    pytest.skip("MEILI_URL not set: live Meilisearch suite skipped", allow_module_level=True)

from tests.search.test_backend_contract import *  # noqa: F403  (the shared contract tests)
from tests.search.test_backend_contract import contract_analyzer


@pytest.fixture  # type: ignore[no-redef]  # replaces the embedded fixture of the contract
def search_backend() -> Iterator[SearchBackend]:
    backend = MeilisearchBackend(
        url=os.environ["MEILI_URL"],
        api_key=os.environ.get("MEILI_API_KEY") or None,
        index_uid=f"contract_{uuid.uuid4().hex[:16]}",
        timeout_s=10.0,
        analyzer=contract_analyzer(),
        task_timeout_s=120.0,
    )
    backend.apply_settings(current_settings())
    try:
        yield backend
    finally:
        backend.delete_index()
