"""The student page on a slow link: first text, in the lesson, first video frame (issue 19).

    .venv/bin/python bench/slow_link.py                  # the working tree
    .venv/bin/python bench/slow_link.py --before 0db802f # and a commit, side by side

A real `sabak serve` (embedded Redis, ICE on 127.0.0.1), a browser teacher publishing its
fake camera straight to the server, and a Pixel 7 phone (360 px wide, Kyrgyz, cold cache: a
new browser context each run) opening its personal link through bench/throttle.py: every TCP
byte of the page, HTTP and the socket.io WebSocket alike, on one 400 kbit/s link with 400 ms
round trips. The media itself (UDP to the server) is not slowed: "first video frame" measures
what the page does until it shows the picture, not the video's own bytes.

Times are from navigation start (the phone's `performance.now()`): first text is Chromium's
first-contentful-paint; in the lesson is the lesson shown with the connection online; first
video frame is the teacher's <video> shown with a decoded picture. The median of --runs.
Targets (issue 19): 1.5 / 3 / 6 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import statistics
from typing import Any

from playwright.async_api import Browser, Page

from bench.common import (
    REPO,
    Server,
    make_classroom,
    markdown_table,
    remove_server_dir,
    server_source,
    start_server,
    stop_all_servers,
    stop_server,
    write_results,
)
from bench.throttle import SlowLink
from bench.waterfall import Waterfall
from tests.browser import CONTEXT_PERMISSIONS, chromium

TARGETS = {"first_text": 1.5, "in_lesson": 3.0, "first_video": 6.0}
MEDIA_ENV = {
    "SABAK_MEDIA_ICE_HOST_ADDRESSES": "127.0.0.1",
    "SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS": "127.0.0.1",
}
FIRST_TEXT = """() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return fcp ? fcp.startTime : 0;
}"""
IN_LESSON = """() => {
  const lesson = document.getElementById('lesson');
  const online = document.body && document.body.dataset.conn === 'online';
  return lesson && !lesson.hidden && online ? performance.now() : 0;
}"""
NAVIGATION = """() => {
  const [n] = performance.getEntriesByType('navigation');
  const at = (ms) => Math.round(ms) / 1000;
  const paints = performance.getEntriesByType('paint').map((p) => [p.name, at(p.startTime)]);
  return { responseEnd: at(n.responseEnd), domInteractive: at(n.domInteractive),
    domContentLoaded: at(n.domContentLoadedEventEnd), paints };
}"""
FIRST_VIDEO = """() => {
  const v = document.querySelector('[data-media=teacher-video] video[data-mid="1"]');
  return v && !v.hidden && v.videoWidth > 0 ? performance.now() : 0;
}"""


async def teacher_publishes(browser: Browser, link: str, lesson_id: str) -> Page:
    desk = await browser.new_context(locale="en-US", permissions=CONTEXT_PERMISSIONS)
    teacher = await desk.new_page()
    await teacher.goto(link)
    await teacher.locator(f"[data-lesson='{lesson_id}'] button").click()
    await teacher.wait_for_function("() => document.body.dataset.conn === 'online'")
    await teacher.click("[data-publish=camera]")
    await teacher.wait_for_function(
        "() => { const s = document.querySelector('[data-publish-state]');"
        " return s && s.dataset.publishState === 'connected'; }",
        timeout=30_000,
    )
    return teacher


async def one_run(
    browser: Browser, pixel: dict[str, Any], url: str, waterfall: bool = False
) -> dict[str, float]:
    args = {**pixel, "viewport": {"width": 360, "height": 740}, "locale": "ky"}
    context = await browser.new_context(**args, permissions=CONTEXT_PERMISSIONS)
    try:
        page = await context.new_page()
        network = Waterfall()
        if waterfall:
            await network.attach(page)
        await page.goto(url, wait_until="commit", timeout=30_000)
        times = {}
        for name, probe in (
            ("first_text", FIRST_TEXT),
            ("in_lesson", IN_LESSON),
            ("first_video", FIRST_VIDEO),
        ):
            found = await page.wait_for_function(probe, polling=50, timeout=60_000)
            times[name] = round(await found.json_value() / 1000, 2)
        if waterfall:
            marks = await page.evaluate(NAVIGATION)
            print(f"{times}\n{marks}\n{network.render()}")
        return times
    finally:
        await context.close()


async def measure(
    source: Path | None, runs: int, rate: float, rtt: float, waterfall: bool = False
) -> list[dict[str, float]]:
    if source is not None:  # an archived commit has no npm install: lend it ours
        (source / "client" / "node_modules").symlink_to(REPO / "client" / "node_modules")
    server: Server = await start_server(MEDIA_ENV, source)
    link = None
    try:
        room = await make_classroom(server, 1)
        link = SlowLink("127.0.0.1", int(server.url.rsplit(":", 1)[1]), rate, rtt)
        await link.start()
        url = f"{link.url}/join#{room.student_tokens[0]}"
        async with chromium() as (browser, pixel):
            await teacher_publishes(
                browser, f"{server.url}/teach#{room.teacher_token}", room.lesson_id
            )
            return [await one_run(browser, pixel, url, waterfall and i == 0) for i in range(runs)]
    finally:
        if link is not None:
            await link.close()
        stop_server(server)
        remove_server_dir(server)


def median_of(results: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in results), 2) for k in TARGETS}


async def main_async(args: argparse.Namespace) -> None:
    rows, data = [], {}
    sides = [("before", args.before)] if args.before else []
    for label, rev in [*sides, ("after" if args.before else "now", None)]:
        with server_source(rev) as (source, facts):
            rate, rtt = args.rate_kbps * 1000, args.rtt_ms / 1000
            results = await measure(source, args.runs, rate, rtt, args.waterfall)
        med = median_of(results)
        data[label] = {"source": facts, "runs": results, "median": med}
        rows.append([label, *(f"{med[k]:.2f}" for k in TARGETS)])
    rows.append(["target", *(f"{v:.2f}" for v in TARGETS.values())])
    headers = ["student page", "first text s", "in lesson s", "first video frame s"]
    print(
        f"{args.rate_kbps} kbit/s, {args.rtt_ms} ms round trip, cold cache, median of {args.runs}"
    )
    print(markdown_table(headers, rows))
    write_results("slow_link", {"rate_kbps": args.rate_kbps, "rtt_ms": args.rtt_ms, **data})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", help="a git revision to measure too (e.g. the last release)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate-kbps", type=float, default=400)
    parser.add_argument("--rtt-ms", type=float, default=400)
    parser.add_argument(
        "--waterfall", action="store_true", help="print the first run's requests and frames"
    )
    try:
        asyncio.run(main_async(parser.parse_args()))
    finally:
        stop_all_servers()


if __name__ == "__main__":
    main()
