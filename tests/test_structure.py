"""Rules about the code itself: a pure core, and documents that cover what the code has."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from aiohttp import web

from core import events
from server.deck_routes import DECK_OPERATIONS, deck_routes
from server.manage_routes import MANAGE_OPERATIONS, manage_routes
from server.openapi import OPERATIONS, document
from server.recording_routes import RECORDING_OPERATIONS, recording_routes
from server.report_routes import report_routes
from server.routes import routes
from server.web_api import WEB_OPERATIONS, web_api_routes

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
    assert (ROOT / "core" / "lesson.py").is_file()
    for path in (ROOT / "core").rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or name.startswith("core")
            assert allowed, f"{path.name} imports {name}: the core must stay pure"


# The layers, bottom up: a package may import itself and what is listed for it, nothing above.
# core <- store <- lessons <- media/signaling <- server; config, client and the patches of
# other libraries stand aside (the patches know no Sabak package at all).
MAY_IMPORT = {
    "core": set(),
    "config": set(),
    "client": set(),
    "patches": set(),
    "store": {"core", "config"},
    "lessons": {"core", "config", "store"},
    "media": {"core", "config", "lessons", "patches"},
    "signaling": {"core", "config", "store", "lessons", "media", "patches"},
    "server": {"core", "config", "store", "lessons", "media", "patches", "signaling", "client"},
}


def test_the_folders_are_the_layers_with_no_arrow_back_up() -> None:
    wrong = []
    for package, allowed in MAY_IMPORT.items():
        assert (ROOT / package / "__init__.py").is_file(), package
        for path in (ROOT / package).rglob("*.py"):
            for name in imported_modules(path):
                top = name.split(".")[0]
                if top in MAY_IMPORT and top != package and top not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_layers_form_no_cycle() -> None:
    seen: dict[str, int] = {}

    def depth(package: str, path: tuple[str, ...] = ()) -> int:
        assert package not in path, f"a cycle: {' -> '.join((*path, package))}"
        if package not in seen:
            below = MAY_IMPORT[package]
            seen[package] = 1 + max((depth(p, (*path, package)) for p in below), default=0)
        return seen[package]

    assert depth("server") > depth("signaling") > depth("lessons") > depth("store") > depth("core")
    assert depth("media") > depth("core")


def test_every_product_package_is_in_a_layer() -> None:
    packages = {d.name for d in ROOT.iterdir() if (d / "__init__.py").is_file()}
    assert packages - {"tests", "bench"} == set(MAY_IMPORT)


HOST_KINDS = {"LocalHost", "ClusterHost", "ClusteredLessons", "LiveLessons"}


def test_only_the_composition_root_knows_which_host_runs_the_lessons() -> None:
    """Everything else asks the `LessonHost` a question, never which kind it is."""
    wrong = []
    others = ("core", "store", "media", "signaling", "server", "patches", "config")
    for path in sorted(p for package in others for p in (ROOT / package).rglob("*.py")):
        where = path.relative_to(ROOT)
        if str(where) == "server/app.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "lessons.clustered":
                wrong.append(f"{where} imports lessons.clustered")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
                kinds = ast.unparse(node.args[1]) if len(node.args) == 2 else ""
                if any(kind in kinds for kind in HOST_KINDS):
                    wrong.append(f"{where}:{node.lineno} asks which kind of host it has")
    assert not wrong, "\n".join(wrong)


def test_the_composition_root_wires_by_constructor() -> None:
    """`_services_ctx` builds services and hands them over; it sets nothing on them after."""
    tree = ast.parse((ROOT / "server" / "app.py").read_text())
    (root,) = [n for n in ast.walk(tree) if getattr(n, "name", "") == "_services_ctx"]
    wrong = []
    for node in ast.walk(root):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        names = [n for t in targets for n in (t.elts if isinstance(t, ast.Tuple) else [t])]
        wrong += [ast.unparse(n) for n in names if isinstance(n, ast.Attribute)]
        called = node.func if isinstance(node, ast.Call) else None
        if isinstance(called, ast.Attribute) and called.attr in ("append", "add", "extend"):
            wrong.append(ast.unparse(node))  # a hook list filled in later
    assert not wrong, "wired after construction: " + ", ".join(wrong)


def test_openapi_describes_every_rest_route() -> None:
    app = web.Application()
    app.router.add_routes(routes)
    app.router.add_routes(report_routes)
    app.router.add_routes(web_api_routes)
    app.router.add_routes(manage_routes)
    app.router.add_routes(deck_routes)
    app.router.add_routes(recording_routes)
    served = {
        (r.resource.canonical, r.method.lower())
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    documented = {
        (path, method)
        for path, method, *_ in [
            *OPERATIONS, *WEB_OPERATIONS, *MANAGE_OPERATIONS, *DECK_OPERATIONS,
            *RECORDING_OPERATIONS,
        ]
    }  # fmt: skip
    assert served == documented
    assert set(document()["paths"]) == {p for p, _ in documented}


def test_protocol_doc_lists_the_common_refusals() -> None:
    # Its events and their fields are checked against the protocol table: test_protocol_table.
    text = (ROOT / "docs" / "protocol.md").read_text()
    for code in ("invalid-payload", "forbidden", "unknown-event", "rate-limited"):
        assert f"`{code}`" in text


def test_every_event_type_has_a_fold() -> None:
    from core.lesson import FOLDS

    for name in events.event_types():
        assert any(kind.__name__ == name for kind in FOLDS), name
