"""Reproducible per-learner orders: a seed from the log and a learner id give one permutation."""

from __future__ import annotations

import hashlib


def _draw(seed: str, salt: str, i: int, bound: int) -> int:
    """A number in [0, bound) from SHA-256: the same on every Python, forever."""
    digest = hashlib.sha256(f"{seed}\x1f{salt}\x1f{i}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % bound


def permutation(seed: str, salt: str, n: int) -> list[int]:
    """order[k] = the canonical index shown at position k (Fisher-Yates, hash-driven)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = _draw(seed, salt, i, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def inverse(order: list[int]) -> list[int]:
    """position_of[canonical] = where that canonical index was shown."""
    position_of = [0] * len(order)
    for shown, canonical in enumerate(order):
        position_of[canonical] = shown
    return position_of
