"""The deck renderer: a child process that turns one uploaded file into page images.

Run as `python -m lessons.deck_render '<job as JSON>'` by lessons/deck_jobs.py, never inside
the server. It limits itself before it opens the file (address space, CPU time, file size,
no core dump; the lowest CPU priority), checks every page's declared size before it renders
any, then writes `<n>-<width>.webp` and `.jpg` for each page into the job's folder and prints
one JSON line: {"ok": {...}} or {"refused": {"code", "message"}}. A file that breaks it
(a decompression bomb exhausting its memory) kills only it.

PDFs are read by pdfium (pypdfium2), built without V8 and XFA: a PDF's JavaScript cannot run,
and the form environment (init_forms) is never started. Images are read by Pillow.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image, ImageOps

from store.decks import WIDTHS

WEBP_MAX_SIDE = 16_383  # the WebP format's own limit
WEBP_QUALITY, JPEG_QUALITY = 80, 80
WEBP_METHOD = 2  # 0 fast .. 6 small: 4 and up cost twice the time for ~2 % fewer bytes
TITLE_MAX = 200
PDFIUM_PASSWORD_ERRORS = (4, 6)  # FPDF_ERR_PASSWORD, FPDF_ERR_SECURITY
IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG"}


class DeckRefused(Exception):
    """The file cannot be a deck: a stable code and a sentence for the teacher."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def limit_self(job: dict[str, Any]) -> None:
    """Before the file is opened: bounded memory, CPU and output, and the lowest priority."""
    memory = job["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(job["cpu_s"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["file_mb"] << 20,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no copy of a child's data
    os.nice(19)  # a live lesson's work always comes first
    os.umask(0o077)  # page images are for Sabak's user alone, like the rest of var/


def render(job: dict[str, Any]) -> dict[str, Any]:
    out = Path(job["out"])
    if job["kind"] == "pdf":
        return _render_pdf(Path(job["source"]), out, job["max_pages"], job["max_pixels"])
    return _render_image(Path(job["source"]), job["kind"], out, job["max_pixels"])


# -- PDF ---------------------------------------------------------------------------------------


def _open_pdf(source: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) in PDFIUM_PASSWORD_ERRORS:
            raise DeckRefused(
                "deck-encrypted", "The PDF is protected by a password; save it without one."
            ) from None
        raise DeckRefused("deck-unreadable", "The file is not a readable PDF.") from None


def _render_pdf(source: Path, out: Path, max_pages: int, max_pixels: int) -> dict[str, Any]:
    doc = _open_pdf(source)
    count = len(doc)
    if count == 0:
        raise DeckRefused("deck-unreadable", "The PDF has no pages.")
    if count > max_pages:
        raise DeckRefused(
            "deck-too-many-pages", f"The PDF has {count} pages; at most {max_pages} are allowed."
        )
    sizes = [_checked_size(doc[i].get_size(), i + 1, max_pixels) for i in range(count)]
    for index, (width, _) in enumerate(sizes):
        bitmap = doc[index].render(scale=WIDTHS[-1] / width, rev_byteorder=True)
        _save_widths(bitmap.to_pil(), out, index + 1)
    return {"pages": count, "sizes": sizes, "title": _pdf_title(doc)}


def _checked_size(size: tuple[float, float], page: int, max_pixels: int) -> tuple[float, float]:
    """The page's size in points, refused if its widest rendering would be too many pixels."""
    width, height = size
    if not (width > 0 and height > 0):
        raise DeckRefused("deck-unreadable", f"Page {page} of the PDF has no size.")
    tall = WIDTHS[-1] * height / width
    if WIDTHS[-1] * tall > max_pixels or tall > WEBP_MAX_SIDE:
        raise DeckRefused(
            "deck-page-too-large",
            f"Page {page} is too long for its width ({width:.0f} × {height:.0f} points).",
        )
    return round(width, 2), round(height, 2)


def _pdf_title(doc: pdfium.PdfDocument) -> str:
    title = _clean(doc.get_metadata_value("Title"))
    if title:
        return title
    text = doc[0].get_textpage().get_text_range()
    return next((_clean(line) for line in text.splitlines() if _clean(line)), "")


def _clean(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:TITLE_MAX]


# -- images ------------------------------------------------------------------------------------


def _render_image(source: Path, kind: str, out: Path, max_pixels: int) -> dict[str, Any]:
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb check, behind ours
    try:
        image = Image.open(source, formats=[IMAGE_FORMATS[kind]])
    except (OSError, SyntaxError, ValueError):
        raise DeckRefused(
            "deck-unreadable", f"The file is not a readable {kind.upper()}."
        ) from None
    except Image.DecompressionBombError:
        raise _too_large(0, 0) from None
    width, height = image.size
    if width * height > max_pixels or width <= 0 or height <= 0:
        raise _too_large(width, height)  # from the header: nothing decoded yet
    image.draft("RGB", (WIDTHS[-1], WIDTHS[-1] * height // width))  # JPEG: decode smaller
    try:
        page = _flat(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError):
        raise DeckRefused(
            "deck-unreadable", f"The file is not a readable {kind.upper()}."
        ) from None
    if WIDTHS[-1] * page.height / page.width > WEBP_MAX_SIDE:
        raise _too_large(width, height)
    _save_widths(page, out, 1)
    return {"pages": 1, "sizes": [(float(page.width), float(page.height))], "title": ""}


def _too_large(width: int, height: int) -> DeckRefused:
    return DeckRefused("deck-page-too-large", f"The image is too large ({width} × {height}).")


def _flat(image: Image.Image) -> Image.Image:
    """RGB, with any transparency shown on white as a slide would be."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


# -- output ------------------------------------------------------------------------------------


def _save_widths(page: Image.Image, out: Path, number: int) -> None:
    """WebP and JPEG at every width; never wider than the picture itself."""
    for width in WIDTHS:
        scaled = page
        if page.width > width:
            size = (width, max(1, round(page.height * width / page.width)))
            scaled = page.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        name = out / f"{number}-{width}"
        scaled.save(f"{name}.webp", "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        scaled.save(f"{name}.jpg", "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)


def main() -> None:
    job = json.loads(sys.argv[1])
    limit_self(job)
    try:
        print(json.dumps({"ok": render(job)}), flush=True)
    except DeckRefused as refused:
        print(json.dumps({"refused": {"code": refused.code, "message": refused.message}}))


if __name__ == "__main__":
    main()
