"""The typed tables a feature exports: one decider per command type, one fold per event type.

A decider `(state, actor, command, now) -> Decision` checks every precondition and returns
the events to log (it changes nothing); a fold `(state, event, ts) -> None` applies one
logged event. `merge` joins the features' tables and refuses a type claimed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core import commands as c
from core import events as e
from core.state import Actor, LessonState

C = TypeVar("C", bound=c.Command)
V = TypeVar("V", bound=e.Event)
K = TypeVar("K")
F = TypeVar("F")


@dataclass(frozen=True)
class Decision:
    """What a decider found: the events to log (none: nothing to change) and the ack."""

    events: Sequence[e.Event] = ()
    result: dict[str, Any] = field(default_factory=dict)


Decide = Callable[[LessonState, Actor, c.Command, int], Decision]
Fold = Callable[[LessonState, e.Event, int], None]


def decider(
    kind: type[C], rule: Callable[[LessonState, Actor, C, int], Decision]
) -> tuple[type[c.Command], Decide]:
    """A table row: `rule` decides commands of type `kind` (mypy checks the two agree)."""

    def decide(state: LessonState, actor: Actor, command: c.Command, now: int) -> Decision:
        assert isinstance(command, kind)  # the table is keyed by the exact type
        return rule(state, actor, command, now)

    return kind, decide


def fold(kind: type[V], rule: Callable[[LessonState, V, int], None]) -> tuple[type[e.Event], Fold]:
    """A table row: `rule` folds events of type `kind` into the state."""

    def apply(state: LessonState, event: e.Event, ts: int) -> None:
        assert isinstance(event, kind)
        rule(state, event, ts)

    return kind, apply


@dataclass(frozen=True)
class Feature:
    """One feature's rules: what it decides and what it folds."""

    name: str
    deciders: Mapping[type[c.Command], Decide]
    folds: Mapping[type[e.Event], Fold]


def feature(
    name: str,
    deciders: Iterable[tuple[type[c.Command], Decide]],
    folds: Iterable[tuple[type[e.Event], Fold]],
) -> Feature:
    return Feature(name, _rows(deciders, name), _rows(folds, name))


def merge(
    features: Iterable[Feature],
) -> tuple[dict[type[c.Command], Decide], dict[type[e.Event], Fold]]:
    """Every feature's deciders and folds in two tables; a type claimed twice is an error."""
    deciders: dict[type[c.Command], Decide] = {}
    folds: dict[type[e.Event], Fold] = {}
    for part in features:
        _add(deciders, part.deciders, part.name)
        _add(folds, part.folds, part.name)
    return deciders, folds


def _rows(rows: Iterable[tuple[K, F]], name: str) -> dict[K, F]:
    out: dict[K, F] = {}
    for kind, rule in rows:
        if kind in out:
            raise ValueError(f"{name} lists {kind!r} twice")
        out[kind] = rule
    return out


def _add(table: dict[K, F], rows: Mapping[K, F], name: str) -> None:
    for kind, rule in rows.items():
        if kind in table:
            raise ValueError(f"{kind!r} is claimed twice (again by {name})")
        table[kind] = rule
