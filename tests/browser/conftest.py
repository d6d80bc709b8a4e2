"""End-to-end tests in a real browser: Debian's Chromium, driven by Playwright, against the
real app (uvicorn, a subprocess) on loopback, on a demo database built like ``make demo``.

They run once (not per database backend). Without Chromium or axe-core (``make
browser-deps`` installs both) they are skipped with the reason — unless ``CI=true``, where
a missing browser is an error: CI must run them. ``CHROMIUM_PATH`` names another Chromium.

Screenshots go to ``var/test-artifacts/screenshots/``; with ``UPDATE_SCREENSHOTS=1`` the
committed ones in ``docs/screenshots/`` are refreshed too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, sync_playwright

from app.core.db import build_engine
from app.indexing.engine import SearchEngine
from tests.conftest import ADMIN_KEY, SECRET_KEY, _seed, make_settings, migrated_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
START_TIMEOUT_S = 30.0


def _unavailable(reason: str) -> None:
    """Skip with the reason; under CI=true the browser tests are required, so fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests are required)", pytrace=False)
    pytest.skip(f"browser tests skipped — {reason}; `make browser-deps` installs it")


def _server_env(tmp: Path, database_url: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "SEARCH_INDEX_PATH": str(tmp / "search-index.db"),
        "SEARCH_BACKEND": "embedded",
        "SEARCH_DRAIN_INTERVAL_S": "0",
        "GEOCODER": "none",
        "SMTP_ENABLED": "false",
        "ADMIN_API_KEY": ADMIN_KEY,
        "SECRET_KEY": SECRET_KEY,
    }


def _build_demo(tmp: Path) -> str:
    """The demo database as the DB tests build it (migrations, taxonomy, Uithoorn, postcodes,
    the demo data admitted) and its search index, what ``make demo`` makes; its URL."""
    folder = tmp / "db"
    folder.mkdir()
    with migrated_database("sqlite", folder) as url:
        engine = build_engine(url)
        try:
            _seed(engine, demo=True)
            index = str(tmp / "search-index.db")
            SearchEngine(settings=make_settings(url, index_path=index), engine=engine).reindex()
        finally:
            engine.dispose()
        return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_live(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app stopped at start-up:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=0.1)  # a short pause that ends early if the server dies
    pytest.fail(f"the app did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def _browser_tools() -> None:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    if not AXE.exists():
        _unavailable(f"axe-core is not installed ({AXE.relative_to(ROOT)} is missing)")


@pytest.fixture(scope="session")
def live_server(_browser_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the real app (uvicorn subprocess) on the Uithoorn demo data."""
    tmp = tmp_path_factory.mktemp("browser")
    env = _server_env(tmp, _build_demo(tmp))
    port = _free_port()
    log = tmp / "server.log"
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--no-server-header"]
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command,
            cwd=tmp,  # no .env of the checkout
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_live(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def browser(_browser_tools: None) -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser)."""
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
            )
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} does not start: {exc.message.splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    """A fresh anonymous visitor (no cookies, no storage), 1280×800."""
    ctx = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 800}, locale="nl-NL"
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def save_screenshot(page: Page, name: str) -> Path:
    """A viewport screenshot (not the full page: small files) as a test artifact; with
    UPDATE_SCREENSHOTS=1 also the committed copy in docs/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, animations="disabled", caret="hide")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path
