"""The roster import in Chromium: a preview first, in Kyrgyz on a phone, then confirm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import FilePayload, expect

from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, chromium, record_errors
from tests.conftest import Running
from tests.test_roster_import import EXCEL_RU, NAMES

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server
KY = json.loads(
    (Path(__file__).resolve().parent.parent / "client/web/i18n/ky.json").read_text("utf-8")
)


async def test_the_import_shows_what_it_will_do_before_storing(server: Running) -> None:
    async with server.rest() as rest:
        await rest.create_course("7А класс")
    async with chromium() as (browser, _):
        context = await browser.new_context(viewport={"width": 360, "height": 780}, locale="ky")
        page = await context.new_page()
        record_errors(page)
        await page.goto(f"{server.url}/organize")
        await page.select_option("#lang", "ky")
        await page.fill("#admin-key", server.admin_key)
        await page.click("#login button[type=submit]")
        await page.locator("#course-list button", has_text="7А класс").click()
        bad = FilePayload(name="bad.csv", mimeType="text/csv", buffer=b"name,id\nAna;12,\nBek,9\n")
        await page.set_input_files("#roster-file", bad)
        await page.click("#roster-form button[type=submit]")
        await expect(page.locator("#roster-problems tbody tr")).to_have_count(1)
        await expect(page.locator("#roster-problems td").nth(1)).to_have_text(
            KY["org.problem.glued-cells"]
        )
        await expect(page.locator("#roster-confirm")).to_be_disabled()

        good = FilePayload(name="7A.csv", mimeType="text/csv", buffer=EXCEL_RU)
        await page.set_input_files("#roster-file", good)
        await page.click("#roster-form button[type=submit]")
        rows = page.locator("#roster-preview-table tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.first.locator("td").nth(1)).to_have_text(NAMES[0])
        await expect(page.locator("#roster-problems-box")).to_be_hidden()
        await expect(page.locator("#roster-table tbody tr td.muted")).to_have_count(1)  # empty
        ARTIFACTS.mkdir(exist_ok=True)
        await page.locator("#roster-preview").scroll_into_view_if_needed()
        await page.screenshot(path=str(ARTIFACTS / "organizer-import-ky-360.png"), full_page=True)
        confirm = page.locator("#roster-confirm")
        await expect(confirm).to_have_text(KY["org.confirm_import"].replace("{n}", "2"))
        await confirm.click()
        await expect(page.locator("#roster-table tbody tr")).to_have_count(2)
        await expect(page.locator("#roster-preview")).to_be_hidden()
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
