"""Deck rendering: time per page and peak memory of the renderer process for a 50-page deck.

    .venv/bin/python bench/decks.py [--pages 50] [--runs 3] [--lesson-students 30]

Builds a slide deck like a teacher's (16:9 pages, each with a title, six lines of text, a
bar chart and its own photo, JPEG-compressed as a PDF editor writes them) and has the
server's own render job (lessons/deck_jobs.py: the child process, its limits, nice 19)
render it `--runs` times. Measures per run: wall time per page, CPU time per page of the
renderer child (from getrusage: what the render costs whatever else the machine does), the
child's peak resident memory, and the bytes of the page images per width and format.

With --lesson-students N (0: skipped), a live lesson too: a `sabak serve` with N students
connected; the teacher posts a chat message every 0.2 s and the time until every student
has it is measured, first with nothing else going on, then while the teacher uploads the
same deck to that server (rendered there, as in a real lesson): does a render slow a lesson?
Prints markdown tables and writes bench/results/decks-<date>-<time>.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import io
import json
import resource
import shutil
import statistics
import tempfile
import time
import zlib
from typing import Any

import aiohttp
from PIL import Image, ImageDraw

from bench import common as cm
from client.sabak_client import SabakClient
from config.settings import DeckSettings
from lessons.deck_jobs import RenderJobs
from store.decks import FORMATS, WIDTHS

WIDE, HIGH = 960, 540  # a 16:9 slide, in points
RESULTS = Path(__file__).resolve().parent / "results"


def photo(seed: int) -> bytes:
    """A 640 x 400 picture with gradients, shapes and grain: compresses like a photo."""
    picture = Image.linear_gradient("L").resize((640, 400)).convert("RGB")
    tint = Image.new("RGB", picture.size, ((seed * 53) % 256, (seed * 97) % 256, 160))
    picture = Image.blend(picture, tint, 0.5)
    draw = ImageDraw.Draw(picture)
    for k in range(12):
        x, y = (seed * 37 + k * 71) % 560, (seed * 19 + k * 43) % 340
        draw.ellipse((x, y, x + 80, y + 60), fill=((k * 40) % 256, 90, (seed * 7) % 256))
    grain = Image.effect_noise(picture.size, 30).convert("RGB")
    picture = Image.blend(picture, grain, 0.15)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


def slide_content(n: int) -> bytes:
    lines = [b"BT /F1 36 Tf 48 470 Td (Lesson %d: fractions and decimals) Tj ET" % n]
    for k in range(6):
        lines.append(b"BT /F1 20 Tf 60 %d Td (- Point %d of slide %d, said in plain words) Tj ET"
                     % (400 - 34 * k, k + 1, n))  # fmt: skip
    for k in range(5):
        height = 40 + ((n * 31 + k * 17) % 120)
        lines.append(b"%.2f 0.3 0.6 rg %d 60 40 %d re f" % (k / 5, 60 + 56 * k, height))
    lines.append(b"q 320 0 0 200 600 200 cm /Im Do Q")
    return b"\n".join(lines)


def build_deck(pages: int) -> bytes:
    """A PDF written by hand: catalog, pages, a font, and per page its content and photo."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
                            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]  # fmt: skip
    kids = []
    for n in range(1, pages + 1):
        image = photo(n)
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 640 /Height 400 /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
            % (len(image), image)
        )
        content = zlib.compress(slide_content(n))
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                       % (len(content), content))  # fmt: skip
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R"
            b" >> /XObject << /Im %d 0 R >> >> /Contents %d 0 R >>"
            % (WIDE, HIGH, len(objects) - 1, len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, b" ".join(kids))
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref,
    )  # fmt: skip
    return bytes(out)


async def one_run(source: Path, pages: int, folder: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    rendered = await RenderJobs(DeckSettings()).render(source, "pdf", folder)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert rendered.pages == pages
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sizes = {
        f"{fmt}-{width}": statistics.mean(
            (folder / f"{n}-{width}.{ext}").stat().st_size for n in range(1, pages + 1)
        )
        for fmt, ext in FORMATS.items()
        for width in WIDTHS
    }
    # ru_maxrss of the children is the largest any of them reached (KB on Linux)
    return {"wall_s_per_page": wall / pages, "cpu_s_per_page": cpu / pages,
            "peak_rss_mb": after.ru_maxrss / 1024, "bytes_per_page": sizes}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lesson-students", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sabak-bench-decks-"))
    try:
        source = work / "deck.pdf"
        source.write_bytes(build_deck(args.pages))
        folders = [work / f"run{i}" for i in range(args.runs)]
        for folder in folders:
            folder.mkdir()
        runs = [await one_run(source, args.pages, folder) for folder in folders]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {"pages": args.pages, "file_bytes": len(build_deck(args.pages)),
                              "runs": runs}  # fmt: skip
    report(result)
    if args.lesson_students:
        try:
            result["lesson"] = await lesson_during_render(args.lesson_students, args.pages)
        finally:
            cm.stop_all_servers()
        report_lesson(result["lesson"])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"decks-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"\nwritten to {out}")


def report(result: dict[str, Any]) -> None:
    runs = result["runs"]

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    print(f"{result['pages']}-page deck, {result['file_bytes'] / 1e6:.1f} MB, "
          f"median of {len(runs)} runs\n")  # fmt: skip
    print("| render per page (wall) | renderer CPU per page | renderer peak RSS |")
    print("|---|---|---|")
    print(f"| {median('wall_s_per_page') * 1000:.0f} ms | {median('cpu_s_per_page') * 1000:.0f} "
          f"ms | {max(r['peak_rss_mb'] for r in runs):.0f} MB |\n")  # fmt: skip
    kinds = list(runs[0]["bytes_per_page"])
    print("| " + " | ".join(kinds) + " |")
    print("|" + "---|" * len(kinds))
    sizes = [statistics.median(r["bytes_per_page"][k] for r in runs) / 1000 for k in kinds]
    print("| " + " | ".join(f"{s:.0f} KB" for s in sizes) + " |")


# -- a live lesson while a deck renders ---------------------------------------------------------

CHAT_EVERY_S = 0.2
LESSON_ENV = {  # the teacher chats faster than a person: no chat or event budget stops it
    "SABAK_LESSON_CHAT_RATE_MESSAGES": "1000",
    "SABAK_LESSON_CHAT_RATE_WINDOW_S": "1",
    "SABAK_LESSON_EVENTS_PER_MINUTE": "100000",
}


async def lesson_during_render(students: int, pages: int) -> dict[str, Any]:
    server = await cm.start_server(LESSON_ENV)
    room = await cm.make_classroom(server, students)
    teacher = SabakClient(server.url, token=room.teacher_token)
    kids = [SabakClient(server.url, token=token) for token in room.student_tokens]
    for who in (teacher, *kids):
        await who.connect()
        await who.join(room.lesson_id)
    deck = build_deck(pages)
    idle_s = 60.0  # as long as a render of 50 pages takes here: as many samples of each
    idle = await chat_latencies(teacher, kids, asyncio.sleep(idle_s))
    render = asyncio.ensure_future(upload(server.url, room.teacher_token, deck))
    busy = await chat_latencies(teacher, kids, render)
    status, render_s = render.result()
    assert status == 201, status
    for who in (teacher, *kids):
        await who.close()
    return {"students": students, "idle_ms": idle, "rendering_ms": busy, "render_s": render_s}


async def upload(url: str, token: str, body: bytes) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"}
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/api/decks", data=body, headers=headers, timeout=aiohttp.ClientTimeout(900)
        ) as resp,
    ):
        await resp.read()
        return resp.status, time.perf_counter() - started


async def chat_latencies(teacher: SabakClient, kids: list[SabakClient], until: Any) -> list[float]:
    """Teacher's chat to every student's inbox, in ms, every CHAT_EVERY_S until `until` ends."""
    stop = asyncio.ensure_future(until)
    out: list[float] = []
    while not stop.done():
        text = f"m{time.perf_counter_ns()}"
        started = time.perf_counter()
        await teacher.chat(text)
        await asyncio.gather(
            *(k.wait_for("chat", lambda m, t=text: m["text"] == t, 30) for k in kids)
        )
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(CHAT_EVERY_S)
    return out


def report_lesson(lesson: dict[str, Any]) -> None:
    print(f"\nA lesson of {lesson['students']} students, the teacher's chat to all of them "
          f"(the render took {lesson['render_s']:.0f} s):\n")  # fmt: skip
    print("| | messages | p50 | p99 | max |\n|---|---|---|---|---|")
    for name, key in (("nothing else", "idle_ms"), ("a deck rendering", "rendering_ms")):
        values = sorted(lesson[key])
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"| {name} | {len(values)} | {statistics.median(values):.0f} ms | {p99:.0f} ms "
              f"| {values[-1]:.0f} ms |")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
