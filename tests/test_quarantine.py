"""Other libraries' internals are touched in patches/ only, where a start-up check guards them.

The rule, checked with `ast` on every module of the product outside patches/ (core, store,
lessons, media, signaling, server, config, client; not tests/ or bench/):

(a) From aiortc, aioice, engineio, socketio and av a module imports only what the library
    exports publicly. "Public" is, concretely: a name in the top-level package's `__all__`
    (`from aiortc import RTCPeerConnection`, `aiortc.RTCPeerConnection`), or a module in
    DOCUMENTED below, which the library's own documentation presents as public (and what
    such a module holds, unless its name starts with `_`). Anything else is refused:
    `import aiortc.sdp`, `from aiortc.sdp import ...`, `from aiortc import sdp`, and
    `aiortc.sdp.X` after `import aiortc`. Such modules change in any release; the patch
    packages use them behind the check of `patches/*/check.py`.
(b) A module reads or writes no attribute whose name starts with `_` on anything but `self` or
    `cls`: `x._name`, `self.x._name`, `super()._name`, `x.__dict__`, `getattr(x, "_name")` (and
    setattr, hasattr, delattr) are refused, whatever `x` is; and so is a name-mangled string
    such as `"_RTCRtpSender__packet_count"`. A Sabak object's own private state is reached
    through its `self`; anything else is another object's internals, a third-party one's most
    likely (the static approximation: it cannot tell whose `x` is, so it refuses them all).
    Other dunder names (`__name__`, `__class__`…) are public, and so are the documented
    methods of named tuples (`_replace`, `_asdict`, `_fields`, `_make`).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("core", "store", "lessons", "media", "signaling", "server", "config", "client")
LIBRARIES = ("aiortc", "aioice", "engineio", "socketio", "av")
# Modules the libraries' documentation presents as public, beyond the top-level package.
DOCUMENTED = frozenset(
    {
        "aiortc.contrib.media",  # aiortc "Helpers": MediaPlayer, MediaRecorder, MediaRelay
        "aiortc.contrib.signaling",
        "socketio.exceptions",  # python-socketio "Server": ConnectionRefusedError
        "av.audio",  # PyAV "API Reference": one page per module
        "av.codec",
        "av.container",
        "av.error",
        "av.filter",
        "av.frame",
        "av.packet",
        "av.stream",
        "av.video",
    }
)
NAMED_TUPLE_API = frozenset({"_replace", "_asdict", "_fields", "_make", "_field_defaults"})
OWN = frozenset({"self", "cls"})
ATTRIBUTE_CALLS = frozenset({"getattr", "setattr", "hasattr", "delattr"})
_MANGLED = re.compile(r"^_[A-Za-z]\w*__\w+$")


def exported(library: str) -> frozenset[str]:
    return frozenset(importlib.import_module(library).__all__)


def _library(module: str) -> str | None:
    root = module.split(".")[0]
    return root if root in LIBRARIES else None


def _leads_to_documented(module: str) -> bool:
    return module in DOCUMENTED or any(d.startswith(module + ".") for d in DOCUMENTED)


def _private(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__") and name != "__dict__"
    return name.startswith("_") and not dunder and name not in NAMED_TUPLE_API


class _Scan(ast.NodeVisitor):
    """Collects the violations of one module's code, each as `line: what`."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.modules: dict[str, str] = {}  # local name -> the library module it is bound to

    def refuse(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{getattr(node, 'lineno', 0)}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _library(alias.name) is None:
                continue
            if "." in alias.name and not _leads_to_documented(alias.name):
                self.refuse(node, f"import {alias.name} (not exported)")
            local = alias.asname or alias.name.split(".")[0]
            self.modules[local] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        library = _library(module) if node.level == 0 else None
        if library is None:
            return
        if module != library and module not in DOCUMENTED:
            self.refuse(node, f"from {module} import ... (not exported)")
            return
        for alias in node.names:
            dotted = f"{module}.{alias.name}"
            if module == library and alias.name not in exported(library):
                if not _leads_to_documented(dotted):
                    self.refuse(node, f"from {module} import {alias.name} (not in __all__)")
                    continue
            elif module != library and alias.name.startswith("_"):
                self.refuse(node, f"from {module} import {alias.name} (private)")
                continue
            if _leads_to_documented(dotted):
                self.modules[alias.asname or alias.name] = dotted

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr) and not (isinstance(node.value, ast.Name) and node.value.id in OWN):
            self.refuse(node, f"{ast.unparse(node)} (another object's private attribute)")
        self._check_chain(node)
        self.generic_visit(node)

    def _check_chain(self, node: ast.Attribute) -> None:
        """`aiortc.sdp` after `import aiortc`: a path through a library's modules."""
        if not (isinstance(node.value, ast.Name) and node.value.id in self.modules):
            return
        module = self.modules[node.value.id]
        library = _library(module) or ""
        dotted = f"{module}.{node.attr}"
        if module == library:
            ok = node.attr in exported(library) or _leads_to_documented(dotted)
        else:
            ok = module in DOCUMENTED or _leads_to_documented(dotted)
        if not ok:
            self.refuse(node, f"{ast.unparse(node)} (not exported)")

    def visit_Call(self, node: ast.Call) -> None:
        func, args = node.func, node.args
        if (
            isinstance(func, ast.Name)
            and func.id in ATTRIBUTE_CALLS
            and len(args) >= 2
            and isinstance(args[1], ast.Constant)
            and isinstance(args[1].value, str)
            and _private(args[1].value)
            and not (isinstance(args[0], ast.Name) and args[0].id in OWN)
        ):
            self.refuse(node, f"{ast.unparse(node)} (another object's private attribute)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _MANGLED.match(node.value):
            self.refuse(node, f"{node.value!r} (a name-mangled private attribute)")


def violations(source: str) -> list[str]:
    scan = _Scan()
    scan.visit(ast.parse(source))
    return scan.found


def product_modules() -> list[Path]:
    return sorted(p for package in PRODUCT for p in (ROOT / package).rglob("*.py"))


def test_no_product_module_outside_patches_touches_a_librarys_internals() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{v}"
        for path in product_modules()
        for v in violations(path.read_text())
    ]
    assert not found, "move these into patches/ (with its start-up check):\n" + "\n".join(found)


def test_the_scan_reads_media_and_the_server() -> None:
    scanned = {str(p.relative_to(ROOT)) for p in product_modules()}
    assert {"media/room.py", "media/slot.py", "server/app.py", "client/sabak_client.py"} <= scanned


# What today's sfu.py did before the move, and the other ways to reach in: each one is found.
REFUSED = [
    ("import aiortc.sdp", "import aiortc.sdp"),
    ("from aiortc.sdp import SessionDescription", "from aiortc.sdp import"),
    ("from aiortc.clock import current_ntp_time", "from aiortc.clock import"),
    ("from aiortc.rtcrtpparameters import RTCRtpSendParameters", "from aiortc.rtcrtpparameters"),
    ("from aiortc import sdp", "from aiortc import sdp"),
    ("from aiortc import rtcrtpreceiver as r", "from aiortc import rtcrtpreceiver"),
    ("import aiortc\naiortc.sdp.candidate_from_sdp('')", "aiortc.sdp"),
    ("import aioice as ice\nice.ice.get_host_addresses", "ice.ice"),
    ("import engineio.async_drivers.aiohttp", "import engineio.async_drivers.aiohttp"),
    ("from socketio.async_manager import AsyncManager", "from socketio.async_manager"),
    ("from socketio.exceptions import _Private", "_Private (private)"),
    ("import av.logging", "import av.logging"),
    ("def f(receiver):\n    receiver._send_rtcp_pli(1)", "receiver._send_rtcp_pli"),
    ("def f(self):\n    self.sender._ssrc", "self.sender._ssrc"),
    ("class A(B):\n    def f(self):\n        super()._hook()", "super()._hook"),
    ("def f(sender):\n    sender.__dict__['x'] = 1", "sender.__dict__"),
    ("def f(sender):\n    return getattr(sender, '_ssrc')", "getattr(sender, '_ssrc')"),
    ("def f(sock):\n    setattr(sock, '_poll', None)", "setattr(sock, '_poll', None)"),
    ("KEY = '_RTCRtpSender__packet_count'", "name-mangled"),
]


@pytest.mark.parametrize(("source", "named"), REFUSED)
def test_each_way_into_a_librarys_internals_is_found(source: str, named: str) -> None:
    found = violations(source)
    assert len(found) == 1 and named in found[0], found


ALLOWED = [
    "from aiortc import RTCPeerConnection, MediaStreamTrack\nimport aiortc\naiortc.RTCIceServer",
    "import socketio\nsocketio.AsyncServer\nsocketio.exceptions.ConnectionRefusedError",
    "from socketio.exceptions import ConnectionRefusedError",
    "from aiortc.contrib.media import MediaRelay\nimport aiortc.contrib.media",
    "import av\np = av.Packet(b'')\np.time_base",
    "class A:\n    def f(self):\n        return self._x\n    @classmethod\n    def g(cls):\n"
    "        return cls._y",
    "def f(parts):\n    return parts._replace(path='/')",
    "def f(x):\n    return type(x).__name__, getattr(x, 'name', None)",
    "import redis.asyncio",  # not one of the five: its documented modules are out of scope
]


@pytest.mark.parametrize("source", ALLOWED)
def test_public_use_is_allowed(source: str) -> None:
    assert violations(source) == []
