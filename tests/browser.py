"""Headless Debian Chromium for browser tests: the launch flags that keep it on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
from playwright.async_api import Browser, Page, async_playwright

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


@asynccontextmanager
async def chromium() -> AsyncIterator[tuple[Browser, dict[str, Any]]]:
    """One headless browser, and the Pixel 7 device description for phone contexts."""
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
