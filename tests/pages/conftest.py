"""Page tests: the app served for real (uvicorn on a free port, a real store) and driven
in Debian's headless Chromium by Playwright. Screenshots go to $FORECALL_ARTIFACTS
(default tests/artifacts/)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from bench.servers import free_port
from core.clock import FixedClock
from tests.conftest import ADMIN, make_settings

CHROMIUM = os.environ.get("FORECALL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("FORECALL_ARTIFACTS", ROOT / "tests" / "artifacts"))


class Served:
    """The app under uvicorn in a thread; `api` is an admin client for setting up."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=3,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.api = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10.0
        )
        self._contexts: list[BrowserContext] = []

    def context(self, browser: Browser) -> BrowserContext:
        """A fresh browser profile (its own cookies), closed before the server stops."""
        opened = browser.new_context()
        self._contexts.append(opened)
        return opened

    def page(self, browser: Browser) -> Page:
        return self.context(browser).new_page()

    def key(self, name: str, *scopes: str) -> str:
        created = self.api.post("/v1/keys", json={"name": name, "scopes": list(scopes)})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30  # only catches a server that never starts
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        for opened in self._contexts:  # open event streams would hold the shutdown up
            opened.close()
        self.api.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def serve(store_url: str, clock: FixedClock) -> Iterator[Callable[..., Served]]:
    """`with serve(**settings) as app:` runs the app on the test's store."""
    from api.app import create_app

    def build(**overrides: Any) -> Served:
        # The server shares this process (and the GIL) with the browser's driver: a
        # generous budget, so that a loaded machine does not answer the safe default.
        settings = make_settings(store_url, **{"inbound_budget_ms": 1000, **overrides})
        return Served(create_app(settings, clock=clock))

    yield build


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is required at {CHROMIUM} for the page tests: "
            "apt-get install -y chromium (or point FORECALL_CHROMIUM at one)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as a test artifact; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(page: Page, label: str) -> Path:
        path = ARTIFACTS / f"{test}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
