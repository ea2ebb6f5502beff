"""A page's text in the browser's language, written into its HTML before it is sent.

On a slow link the page's modules and catalogue arrive seconds after the HTML: a page whose
words wait for them is blank until then. The server fills every `data-i18n` element and
`data-i18n-*` attribute from the same catalogues the page uses (client/web/i18n), escaped,
so the first paint has words; the page's script translates again later (same result, or the
language the learner chose before, which only the browser knows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from pathlib import Path

LANGUAGES = ("ky", "ru", "en")
DEFAULT = "ru"  # as the page's i18n.js: what people in Kyrgyzstan read when not Kyrgyz
LANG_MARK = "{{lang}}"
# The student's catalogue in the page's language, written into it (one request less on a
# slow link, where each request waits its turn on one of the browser's six connections).
WORDS_MARK = "{{student-words}}"

# An element with data-i18n and nothing inside yet: <tag ... data-i18n="key" ...></tag>
_TEXT = re.compile(r'(<(\w+)\b[^<>]*?\sdata-i18n="([\w.-]+)"[^<>]*>)(</\2>)')
_ATTR = re.compile(r'\sdata-i18n-(placeholder|aria-label|title|alt)="([\w.-]+)"')


def load_catalogues(i18n_dir: Path) -> dict[str, dict[str, str]]:
    """Each language's words: its catalogue, and the ones pages add later (replay.<lang>.json)."""
    return {lang: _words(i18n_dir, lang) for lang in LANGUAGES}


def _words(i18n_dir: Path, lang: str) -> dict[str, str]:
    words: dict[str, str] = {}
    for path in (i18n_dir / f"{lang}.json", *sorted(i18n_dir.glob(f"*.{lang}.json"))):
        words.update(json.loads(path.read_text(encoding="utf-8")))
    return words


# The student page's catalogue leaves out the teacher's and the organizer's words: on a slow
# link the whole one is 3.5 KB more before the lesson can show. The words of the replay and
# the catch-up card (replay.<lang>.json) come later, with their module (i18n.addCatalogue).
STUDENT_WORDS = "student"
NOT_FOR_STUDENTS = ("teach.", "org.", "replay.", "catchup.", "moment.")


def student_words(messages: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in messages.items() if not k.startswith(NOT_FOR_STUDENTS)}


def words_json(messages: Mapping[str, str]) -> str:
    """The catalogue as JSON to write into a page's data block: no '<' in it, so nothing in a
    message can end the block or start a tag."""
    return json.dumps(messages, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def student_catalogues(catalogues: Mapping[str, Mapping[str, str]]) -> dict[str, bytes]:
    """`i18n/<lang>.student.json` for each language: the words the student page can use."""
    return {
        f"i18n/{lang}.{STUDENT_WORDS}.json": words_json(student_words(messages)).encode()
        for lang, messages in catalogues.items()
    }


def translate_html(html: str, lang: str, messages: Mapping[str, str]) -> str:
    """Fill the page's marked text and attributes from `messages` (escaped) and set `lang`."""

    def text(m: re.Match[str]) -> str:
        return m[1] + escape(messages.get(m[3], ""), quote=False) + m[4]

    def attr(m: re.Match[str]) -> str:
        return f'{m[0]} {m[1]}="{escape(messages.get(m[2], ""), quote=True)}"'

    html = _ATTR.sub(attr, _TEXT.sub(text, html)).replace(LANG_MARK, lang)
    if WORDS_MARK in html:
        html = html.replace(WORDS_MARK, words_json(student_words(messages)))
    return html


def preferred_language(accept_language: str) -> str:
    """The first of our languages the browser asks for, by its q-values; else Russian."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if base in LANGUAGES and q > 0:
            ranked.append((-q, i, base))
    return min(ranked)[2] if ranked else DEFAULT
