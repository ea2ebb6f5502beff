"""The lesson's dispatch tables: one rule per command type and per event type, no strays."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from core import commands as c
from core import events as e
from core.lesson import DECIDERS, FEATURES, FOLDS, Lesson
from core.rules import Rules
from core.state import Actor, LessonState
from core.tables import Decision, decider, feature, fold, merge

CORE = Path(__file__).resolve().parent.parent / "core"


def test_every_command_type_has_exactly_one_decider() -> None:
    claims = Counter(kind for part in FEATURES for kind in part.deciders)
    assert {kind: claims[kind] for kind in c.command_classes()} == dict.fromkeys(
        c.command_classes(), 1
    )


def test_every_event_type_has_exactly_one_fold() -> None:
    claims = Counter(kind for part in FEATURES for kind in part.folds)
    assert {kind: claims[kind] for kind in e.event_classes()} == dict.fromkeys(e.event_classes(), 1)


def test_no_table_entry_for_a_type_that_does_not_exist() -> None:
    assert set(DECIDERS) == set(c.command_classes())
    assert set(FOLDS) == set(e.event_classes())


def test_two_features_cannot_claim_the_same_type() -> None:
    def nothing(state: LessonState, actor: Actor, cmd: c.Leave, now: int) -> Decision:
        return Decision()

    def ignore(state: LessonState, ev: e.HandRaised, ts: int) -> None:
        pass

    ours = feature("ours", [decider(c.Leave, nothing)], [])
    with pytest.raises(ValueError, match="Leave"):
        merge([*FEATURES, ours])
    theirs = feature("theirs", [], [fold(e.HandRaised, ignore)])
    with pytest.raises(ValueError, match="HandRaised"):
        merge([*FEATURES, theirs])
    with pytest.raises(ValueError, match="twice"):
        feature("twice", [decider(c.Leave, nothing), decider(c.Leave, nothing)], [])


def test_a_command_without_a_decider_is_refused_before_anything_changes() -> None:
    lesson = Lesson("L", "C", Rules())
    with pytest.raises(TypeError, match="Command"):
        lesson.execute(Actor("t1", "teacher"), c.Command(), 0)  # the base: no decider
    assert lesson.seq == 0


def test_deciders_and_folds_are_typed_without_any() -> None:
    """A decider returns a Decision and a fold takes an event type: neither says Any."""
    rules = 0
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not node.args.args:
                continue
            params = [ast.unparse(a.annotation) for a in node.args.args if a.annotation]
            returns = ast.unparse(node.returns) if node.returns else ""
            is_decider = returns == "Decision"
            is_fold = (
                params[:1] == ["LessonState"] and params[1:2] != [] and params[1].startswith("e.")
            )
            if is_decider or is_fold:
                rules += 1
                assert "Any" not in " ".join([*params, returns]), f"{path.name}: {node.name}"
    assert rules >= len(DECIDERS) + len(FOLDS)


def test_no_dispatch_by_built_names_in_the_core() -> None:
    """The tables are the only dispatch: no getattr on a name made at run time."""
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr":
                pytest.fail(f"{path.name}:{node.lineno} dispatches by getattr")
