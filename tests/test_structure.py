"""Rules about the code itself: a pure core, and documents that cover what the code has."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from aiohttp import web

from client.sabak_client import SabakClient
from server.classroom import events
from server.manage_routes import MANAGE_OPERATIONS, manage_routes
from server.openapi import OPERATIONS, document
from server.report_routes import report_routes
from server.routes import routes
from server.web_api import WEB_OPERATIONS, web_api_routes
from signaling.wire import EVENTS

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_only_the_standard_library() -> None:
    for path in (ROOT / "server" / "classroom").rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or name.startswith("server.classroom")
            assert allowed, f"{path.name} imports {name}: the core must stay pure"


def test_openapi_describes_every_rest_route() -> None:
    app = web.Application()
    app.router.add_routes(routes)
    app.router.add_routes(report_routes)
    app.router.add_routes(web_api_routes)
    app.router.add_routes(manage_routes)
    served = {
        (r.resource.canonical, r.method.lower())
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    documented = {
        (path, method) for path, method, *_ in [*OPERATIONS, *WEB_OPERATIONS, *MANAGE_OPERATIONS]
    }
    assert served == documented
    assert set(document()["paths"]) == {p for p, _ in documented}


def test_protocol_doc_covers_every_event() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text()
    server_events = set(SabakClient.EVENTS)  # the Python client handles every one
    for name in set(EVENTS) | server_events:
        assert f"`{name}`" in text, f"docs/protocol.md does not document `{name}`"
    for code in ("invalid-payload", "forbidden", "unknown-event", "rate-limited"):
        assert f"`{code}`" in text


def test_every_event_type_has_a_fold() -> None:
    from server.classroom.lesson import Lesson

    for name in events.event_types():
        snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")
        assert hasattr(Lesson, f"_apply_{snake}"), name
