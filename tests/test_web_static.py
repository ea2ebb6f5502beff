"""The web client's files: complete catalogues in three languages, and no HTML built from data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent / "client" / "web"
LANGUAGES = ("ky", "ru", "en")
CYRILLIC = re.compile("[\u0400-\u04ff]")
KYRGYZ_LETTERS = re.compile("[ңөүҢӨҮ]")
# Keys that read the same in every language (names of formats, not words).
SAME_EVERYWHERE = {"org.qr", "receive.video", "chat.heading"}
HTML_SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\s*\(|document\.write(ln)?\s*\("
    r"|\.createContextualFragment\s*\(|new\s+Function\s*\(|\beval\s*\("
    r"|setAttribute\(\s*['\"](on\w+|style)['\"]"
)


def catalogue(lang: str) -> dict[str, str]:
    """A language's words: its catalogue and those loaded later (replay.<lang>.json)."""
    data: dict[str, str] = {}
    for path in (WEB / "i18n" / f"{lang}.json", *sorted((WEB / "i18n").glob(f"*.{lang}.json"))):
        data.update(json.loads(path.read_text(encoding="utf-8")))
    return data


def scripts() -> list[Path]:
    return sorted((WEB / "js").glob("*.js"))


def pages() -> list[Path]:
    return sorted(WEB.glob("*.html"))


def test_every_language_has_the_same_keys_and_no_empty_message() -> None:
    en = catalogue("en")
    for lang in LANGUAGES:
        messages = catalogue(lang)
        assert set(messages) == set(en), f"{lang}: {set(messages) ^ set(en)}"
        assert all(isinstance(v, str) and v.strip() for v in messages.values()), lang


def test_placeholders_are_the_same_in_every_language() -> None:
    en = catalogue("en")
    for lang in ("ky", "ru"):
        for key, text in catalogue(lang).items():
            want = sorted(re.findall(r"\{\w+\}", en[key]))
            assert sorted(re.findall(r"\{\w+\}", text)) == want, f"{lang} {key}"


def test_kyrgyz_and_russian_are_written_in_cyrillic_not_left_in_english() -> None:
    en, ky, ru = catalogue("en"), catalogue("ky"), catalogue("ru")
    for key in en:
        if key in SAME_EVERYWHERE:
            continue
        for lang, messages in (("ky", ky), ("ru", ru)):
            assert messages[key] != en[key], f"{lang} {key} is still English"
            assert CYRILLIC.search(messages[key]), f"{lang} {key} has no Cyrillic"
    # Kyrgyz, not Russian under another name: its own letters appear, and texts differ.
    assert sum(bool(KYRGYZ_LETTERS.search(v)) for v in ky.values()) > len(ky) // 3
    assert sum(ky[k] == ru[k] for k in ky) < 10


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*scripts(), *pages()]:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"\bt\(\s*'([a-z_.\-]+)'", text))
        keys |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([a-z_.\-]+)"', text))
        keys |= set(re.findall(r"'((?:teach|org)\.col_[a-z_]+)'", text))
    return keys


def test_every_message_the_pages_use_is_in_the_catalogue() -> None:
    missing = used_keys() - set(catalogue("en"))
    assert not missing


def events_the_client_sends() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in scripts())
    names = set(re.findall(r"(?:call|emit)\(\s*'([a-z_]+)'", text))
    names |= set(re.findall(r"\['([a-z_]+)', ", text))  # [event, payload] pairs
    return names | {"join", "chat_send", "hand_raise", "leave"}


def documented_codes() -> set[str]:
    """Refusal codes of the connection, of the events the pages send, and of any event."""
    doc = (WEB.parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")
    connect = doc[doc.index("`connect_error`") : doc.index("After connecting")]
    general = doc[doc.index("Any event may also be refused with") :]
    general = general[: general.index("\n\n", general.index("| code"))]
    rows = [
        line.rsplit("|", 2)[-2]
        for line in doc.splitlines()
        if (m := re.match(r"\| `([a-z_]+)` \|", line)) and m.group(1) in events_the_client_sends()
    ]
    code = re.compile(r"`([a-z]+(?:-[a-z]+)+)`")
    return set(code.findall(connect + general + "\n".join(rows)))


def test_every_refusal_the_pages_can_meet_has_a_message() -> None:
    codes = documented_codes()
    assert {"bad-token", "chat-locked", "check-closed", "not-waiting"} <= codes
    missing = {c for c in codes if f"error.{c}" not in catalogue("en")}
    assert not missing, missing


@pytest.mark.parametrize("path", scripts(), ids=lambda p: p.name)
def test_scripts_never_build_html_from_strings(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not HTML_SINKS.search(text), f"{path.name}: {HTML_SINKS.search(text)}"


def test_the_protocol_module_has_no_dom_and_the_ui_modules_no_socket() -> None:
    dom = re.compile(r"\bdocument\.|\bwindow\.|querySelector|createElement|textContent")
    for name in ("protocol.js", "rest.js", "receive_mode.js"):
        assert not dom.search((WEB / "js" / name).read_text()), name
    for path in scripts():
        # boot.js opens the WebSocket as the page is read and hands it to protocol.js.
        if path.name not in ("protocol.js", "boot.js"):
            text = path.read_text()
            assert "socket.io" not in text and ".emit(" not in text, path.name


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.name)
def test_pages_have_no_inline_script_style_or_handlers(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html):
        # A data-inline script is written in by the server and allowed by its CSP hash; the
        # catalogue's data block is never run.
        inlined = re.fullmatch(r'<script src="\{\{static\}\}/js/\w+\.js" data-inline>', tag)
        words = tag == '<script type="application/json" id="words" data-lang="{{lang}}">'
        assert ('type="module"' in tag and "src=" in tag) or inlined or words, tag
    code = html.replace("{{student-words}}</script>", "</script>")
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", code), "inline script"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "http://" not in html and "https://" not in html, "nothing loads from elsewhere"
