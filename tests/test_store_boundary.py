"""The store is the one place that talks to Redis: nothing above it holds or imports a client.

Above the store, a lesson's data is reached through the store's named methods (store/
protocols.py), so that the in-memory store can stand in for Redis. The exceptions: the
composition root, which opens the connection and chooses the socket.io Redis manager
(server/app.py), and the typed key it keeps the connection under (server/appkeys.py).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from config import RedisSettings

ROOT = Path(__file__).resolve().parent.parent
ABOVE_THE_STORE = ("core", "lessons", "media", "signaling", "server", "patches", "client")
MAY_HOLD_A_CLIENT = {"server/app.py", "server/appkeys.py"}
# `settings.redis.<field>` is the [redis] section of the settings, not a client.
SETTING_NAMES = {f.name for f in dataclasses.fields(RedisSettings)}


def redis_uses(tree: ast.AST) -> list[str]:
    """Lines that import the Redis client or reach a client through a `.redis` attribute."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Attribute) and node.attr in ("redis", "REDIS"):
            parent = parents.get(node)
            setting = isinstance(parent, ast.Attribute) and parent.attr in SETTING_NAMES
            names = [] if setting and node.attr == "redis" else [f".{node.attr}"]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] in ("redis", "")]
    return [f"line {line}: {name}" for line, name in sorted(found)]


def test_only_the_store_touches_redis() -> None:
    wrong = []
    for package in ABOVE_THE_STORE:
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name not in MAY_HOLD_A_CLIENT:
                wrong += [f"{name} {use}" for use in redis_uses(ast.parse(path.read_text()))]
    assert not wrong, "\n".join(wrong)


def test_the_scan_sees_what_it_forbids() -> None:
    """The rule is not vacuous: each way of reaching Redis that it forbids is found."""
    code = (
        "import redis.asyncio as aioredis\n"
        "from redis.exceptions import RedisError\n"
        "async def f(self, app, k):\n"
        "    await self.directory.redis.get('x')\n"
        "    client = app[k.REDIS]\n"
        "    return settings.redis.url, settings.redis.key_prefix\n"
    )
    assert redis_uses(ast.parse(code)) == [
        "line 1: redis.asyncio",
        "line 2: redis.exceptions",
        "line 4: .redis",
        "line 5: .REDIS",
    ]
