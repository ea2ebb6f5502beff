"""Least privilege for the embedded Redis: its password, its ACL, private files, its version.

The embedded Redis listens on loopback, where every local process can reach it. So it has no
default user (every connection must log in), Sabak's own user cannot reconfigure it, load
modules or debug it (CONFIG, DEBUG, MODULE, ACL...), and its files (the AOF holds names,
codes and chat) are readable by nobody else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

USER = "sabak"
# Commands Sabak never sends: they reconfigure the server, write files where they are told,
# load code, or read other clients' traffic. Denied to Sabak's own user, so a leaked password
# cannot turn the database into a file writer (CONFIG SET dir + SAVE) or run a module.
DENIED = ("config", "debug", "module", "acl", "shutdown", "monitor", "replicaof", "slaveof",
          "sync", "psync", "failover", "migrate", "bgsave", "save", "lastsave")  # fmt: skip
# The first release of each series with the 2024-25 security fixes, the last being the Lua
# fixes of 3 October 2025 (CVE-2025-49844 "use-after-free in the Lua parser", CVE-2025-46817,
# -46818, -46819); the earlier ones (CVE-2024-31449, -46981, -51741, CVE-2025-21605,
# -32023, -48367) are in these too. Series not listed are no longer maintained.
KNOWN_GOOD = {
    "redis": {(6, 2): (6, 2, 20), (7, 2): (7, 2, 11), (7, 4): (7, 4, 6), (8, 0): (8, 0, 4),
              (8, 2): (8, 2, 2)},
    "valkey": {(7, 2): (7, 2, 11), (8, 0): (8, 0, 6), (8, 1): (8, 1, 4)},
}  # fmt: skip
_VERSION = re.compile(r"\b(Redis|Valkey) server v=(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)


def password(directory: Path) -> str:
    """The Redis password kept in directory/password (0600), made on first use."""
    path = directory / "password"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(value + "\n")
    return value


def acl_lines(secret: str) -> list[str]:
    """redis.conf lines: no anonymous user; Sabak's user, by a hash of its password."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    denied = " ".join(f"-{name}" for name in DENIED)
    return ["user default off", f"user {USER} on #{digest} ~* &* +@all {denied}"]


def make_private(data_dir: Path, directory: Path) -> None:
    """data_dir and its redis directory 0700, every file Redis left there 0600."""
    for path in (data_dir, directory):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others; it is now 0700", path)
            path.chmod(0o700)
    for path in directory.rglob("*"):  # AOF files written before this, or by an old umask
        if path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def private_umask() -> None:
    """In the Redis child: the files it creates (AOF, log) are its owner's only."""
    os.umask(0o077)


def version_of(binary: Path) -> tuple[str, tuple[int, int, int]] | None:
    """("redis"|"valkey", (major, minor, patch)) from `binary --version`, or None."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=5, check=False).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(out)
    if found is None:
        return None
    name, *numbers = found.groups()
    major, minor, patch = (int(n) for n in numbers)
    return name.lower(), (major, minor, patch)


def outdated(binary: Path) -> str | None:
    """Why this Redis lacks known security fixes (one sentence), or None when it has them."""
    found = version_of(binary)
    if found is None:
        return f"the version of {binary} is unknown"
    name, version = found
    shown = ".".join(map(str, version))
    floor = KNOWN_GOOD[name].get(version[:2])
    newest = max(KNOWN_GOOD[name])
    if floor is None and version[:2] > newest:
        return None  # a newer series than this list knows
    if floor is None:
        return f"{name} {shown} is a series that no longer gets security fixes"
    if version < floor:
        return f"{name} {shown} lacks the 2024-25 security fixes of {'.'.join(map(str, floor))}"
    return None


def maintained_on_path(fallback: Path | None) -> Path | None:
    """A valkey-server or redis-server on PATH with the fixes, else any on PATH, else fallback."""
    found = [Path(p) for p in map(shutil.which, ("valkey-server", "redis-server")) if p]
    for binary in found:
        if outdated(binary) is None:
            return binary
    return found[0] if found else fallback
