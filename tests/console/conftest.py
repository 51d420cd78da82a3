"""The console in a real browser: Debian's chromium driven by Playwright against a real
`ledger serve` on a free loopback port, seeded over HTTP (tests/console/seed.py)."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.console.seed import Reconciled, Seeded, ach_env, seed, seed_reconciliation
from tests.e2e.test_serve import Server, create_key, start, stop
from tests.support.servers import CACHE

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "console-screenshots"
AXE_PACKAGE = "axe-core@4.14.1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable() -> str:
    found = shutil.which("chromium")
    if found is None:
        subprocess.run([str(ROOT / "scripts" / "install_chromium.sh")], check=True, timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("the console tests need Debian's chromium (scripts/install_chromium.sh)")
    return found


def axe_source() -> str:
    """axe-core from the npm registry, pinned, fetched once into the test cache."""
    target = CACHE / "axe-core"
    script = target / "package" / "axe.min.js"
    if not script.exists():
        target.mkdir(parents=True, exist_ok=True)
        packed = (
            subprocess.run(
                ["npm", "pack", AXE_PACKAGE, "--silent"],
                cwd=target,
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with tarfile.open(target / packed) as archive:
            archive.extractall(target, filter="data")
        (target / packed).unlink()
    return script.read_text()


@dataclass
class Ledger:
    server: Server
    seeded: Seeded
    keys: dict[str, str]
    reconciled: Reconciled

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    where = tmp_path_factory.mktemp("console-ledger")
    db = where / "ledger.sqlite3"
    keys = {
        "admin": create_key(db, "admin"),
        # Requests payouts and may approve others' payouts, never its own.
        "requester": create_key(db, "payments:write", "payments:read", "payouts:approve"),
        "approver": create_key(db, "payouts:approve", "refunds:approve", "payments:read"),
        "finance": create_key(db, "finance:read", "payments:read"),
    }
    env = ach_env()
    server = start(db, where / "serve.log", env)
    try:
        seeded = seed(server.url, keys["admin"], keys["requester"])
        keys["bound"] = _bound_key(db, seeded.bolt)
        reconciled = seed_reconciliation(server.url, keys["admin"], db, env, where)
        yield Ledger(server, seeded, keys, reconciled)
    finally:
        stop(server)


def _bound_key(db: Path, manufacturer_id: str) -> str:
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            "keys",
            "create",
            "--scope",
            "finance:read",
            "--scope",
            "payments:read",
            "--manufacturer",
            manufacturer_id,
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@dataclass
class Browser:
    """A fresh browser profile per page; what the page said that a test must not ignore."""

    context: BrowserContext
    page: Page
    errors: list[str]
    foreign_requests: list[str]

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser(
    playwright: Playwright, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Browser]]:
    executable = chromium_executable()
    opened: list[Browser] = []

    def open_browser(base_url: str) -> Browser:
        profile = tmp_path / f"profile-{len(opened)}"
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        page = context.pages[0] if context.pages else context.new_page()
        errors: list[str] = []
        foreign: list[str] = []

        def on_console(message: Any) -> None:
            text = message.text
            if "Content Security Policy" in text or "Refused to" in text:
                errors.append(f"csp: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))

        def on_request(req: Any) -> None:
            if not (req.url.startswith(base_url) or req.url.startswith(("data:", "blob:"))):
                foreign.append(req.url)

        page.on("request", on_request)
        # Generous: the whole suite shares two cores with the server and the browser.
        page.set_default_timeout(30_000)
        opened.append(Browser(context, page, errors, foreign))
        return opened[-1]

    yield open_browser
    for each in opened:
        each.context.close()
    for each in opened:
        assert each.errors == [], each.errors
        assert each.foreign_requests == [], each.foreign_requests


VIEW_TIMEOUT_MS = 45_000
expect.set_options(timeout=30_000)  # see the page timeout below
FAILURE_SHOTS = ROOT / "build" / "console-screenshots" / "failures"


def open_view(page: Page, base_url: str, fragment: str) -> None:
    """Go to a console fragment and wait until its view has drawn something. A view that never
    draws fails with what the page showed instead (the problem banner, the key form, the URL)
    and a screenshot, not a bare timeout."""
    name = fragment.removeprefix("#/").split("/")[0].split("?")[0]
    page.goto(f"{base_url}/console/{fragment}")
    ready = (
        'name => { const v = document.querySelector(`#page .view[data-view="${name}"]`);'
        " return !!v && v.childElementCount > 0; }"
    )
    try:
        page.wait_for_function(ready, arg=name, timeout=VIEW_TIMEOUT_MS)
    except PlaywrightTimeout:
        FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FAILURE_SHOTS / f"{name}.png"), full_page=True)
        shown = page.evaluate(
            "() => ({url: location.href,"
            " problem: document.getElementById('problem').hidden ? null"
            " : document.getElementById('problem').textContent,"
            " login: !document.getElementById('login').hidden,"
            " page: document.getElementById('page').innerHTML.slice(0, 500)})"
        )
        raise AssertionError(
            f"view {fragment!r} did not draw in {VIEW_TIMEOUT_MS} ms: {shown}"
        ) from None


def sign_in(browser: Browser, base_url: str, key: str, fragment: str = "") -> Page:
    page = browser.page
    page.goto(f"{base_url}/console/{fragment}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Open the console").click()
    page.locator("#who-text").wait_for()
    return page


@pytest.fixture(scope="session")
def axe() -> str:
    return axe_source()
