"""Headless Debian Chromium for browser tests: the launch flags that keep it on loopback.

Starting Playwright's driver and Chromium costs seconds, so the browser tests share one
browser for the session: they run on the session's event loop (BROWSER_MARKS), with that
loop's versions of the server fixtures, which a browser module imports from here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import (
    Classroom,
    Running,
    free_port,
    make_classroom,
    settings_for,
    start_server,
    store_url,
)
from tests.redis_fixture import SharedRedis

CHROMIUM = os.environ.get("SABAK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Chromium honours only the last --disable-features, and Playwright puts its own list first:
# ours repeats Playwright's (1.65) and adds what keeps WebRTC on loopback without mDNS.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,"
    "OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,"
    "msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Even with the flags above Chromium looks up Google hosts at start: no DNS at all.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    f"--disable-features={PLAYWRIGHT_DISABLED_FEATURES},WebRtcHideLocalIpsWithMdns",
]
CONTEXT_PERMISSIONS = ["camera", "microphone"]


def needs_chromium() -> Any:
    """Skip marker for machines without Debian's chromium (./dev test installs it as root)."""
    return pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    )


BROWSER_MARKS = [
    pytest.mark.browser,
    needs_chromium(),
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures("shared_chromium"),
]


# The server fixtures of tests/conftest.py on the session's loop. A browser module takes them
# by assignment (`server = browser.server`), which overrides conftest's for its tests.


@pytest_asyncio.fixture(loop_scope="session")
async def redis_url(
    shared_redis: SharedRedis, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    async with store_url(shared_redis, request) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def server(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    running = await start_server(settings_for(tmp_path / "var", redis_url, free_port()))
    try:
        yield running
    finally:
        await running.runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def classroom(server: Running) -> Classroom:
    return await make_classroom(server)


_SHARED: list[tuple[Browser, dict[str, Any]]] = []  # the session's browser, once launched


@asynccontextmanager
async def chromium() -> AsyncIterator[tuple[Browser, dict[str, Any]]]:
    """A headless browser, and the Pixel 7 device description for phone contexts.

    The session's shared browser when there is one: the contexts opened meanwhile are closed
    afterwards, so the next test starts from a browser with no page open.
    """
    if not _SHARED:
        async with _launched() as launched:
            yield launched
        return
    browser, pixel = _SHARED[0]
    before = set(browser.contexts)
    try:
        yield browser, pixel
    finally:
        for context in browser.contexts:
            if context not in before:
                await context.close()


@asynccontextmanager
async def shared_chromium() -> AsyncIterator[None]:
    """The one browser of the session's browser tests (conftest's session fixture runs this)."""
    async with _launched() as launched:
        _SHARED.append(launched)
        try:
            yield
        finally:
            _SHARED.clear()


@asynccontextmanager
async def _launched() -> AsyncIterator[tuple[Browser, dict[str, Any]]]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            chromium_sandbox=False,
            timeout=30_000,
        )
        try:
            check_disabled_features()
            yield browser, dict(pw.devices["Pixel 7"])
        finally:
            await browser.close()


def check_disabled_features() -> None:
    """Fail if our --disable-features would drop one Playwright added (after an upgrade)."""
    for child in psutil.Process().children(recursive=True):
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if (
            not argv
            or not argv[0].endswith("chromium")
            or any(a.startswith("--type=") for a in argv)
        ):
            continue
        lists = [
            set(a.split("=", 1)[1].split(",")) for a in argv if a.startswith("--disable-features=")
        ]
        dropped = set().union(*lists[:-1]) - lists[-1] if len(lists) > 1 else set()
        assert not dropped, f"update PLAYWRIGHT_DISABLED_FEATURES in tests/browser.py: {dropped}"


def record_errors(page: Page) -> Page:
    """Collect the page's script errors and CSP violations in `page.errors` (a test checks it)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.errors = errors  # type: ignore[attr-defined]
    return page
