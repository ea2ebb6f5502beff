"""The protocol table against everything that speaks the protocol: docs, clients, views, server.

Each check compares whole sets of names, so a name missing on either side fails it.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any, cast

import pytest

from client.sabak_client import SabakClient
from core import commands as c
from signaling.fanout import COALESCE_S
from signaling.namespace import LessonNamespace
from signaling.protocol import (
    CHAT_MESSAGE,
    INBOUND,
    LEARNER,
    OUTBOUND,
    PARTICIPANT,
    SNAPSHOT,
    Handler,
    Inbound,
)
from tests.protocol_shapes import shape_problems

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "protocol.md").read_text()
PAGES = {p.name: p.read_text() for p in (ROOT / "client" / "web" / "js").glob("*.js")}
# What the pages never send, and why: the teacher's page ends a lesson over REST (POST
# /api/lessons/{id}/end), which also serves organizers.
NOT_SENT_BY_PAGES = {"lesson_end"}
SOCKET_IO_OWN = {"connect", "connect_error", "disconnect", "reconnect_attempt"}


def doc_rows(start: str, end: str) -> dict[str, str]:
    """The rows of the doc's event tables between two headings: event name -> the row."""
    section = DOC.split(start, 1)[1].split(end, 1)[0]
    rows: dict[str, str] = {}
    in_events = False
    for line in section.splitlines():
        if line.startswith("| event |"):
            in_events = True
        elif not line.startswith("|"):
            in_events = False
        elif in_events and (found := re.match(r"\| `([a-z_]+)` \|", line)):
            assert found[1] not in rows, f"`{found[1]}` is documented twice"
            rows[found[1]] = line
    return rows


INBOUND_ROWS = doc_rows("## Client → server events", "## Server → client events")
OUTBOUND_ROWS = doc_rows("## Server → client events", "## Shapes")


def test_every_inbound_event_has_a_handler_and_every_handler_an_event() -> None:
    unused = cast(Any, None)  # the handlers are bound at construction; nothing else is used
    arity = len(inspect.signature(LessonNamespace.__init__).parameters) - 1  # all but self
    namespace = LessonNamespace(*[unused] * arity)
    assert set(namespace.handlers) == set(Handler)
    assert {e.handler for e in INBOUND.values()} == set(Handler)
    with pytest.raises(ValueError):
        Inbound("made_up")  # a command event without its command
    with pytest.raises(ValueError):
        Inbound("made_up", handler=Handler.JOIN, build=c.Leave)


def test_every_event_carries_the_envelope() -> None:
    for name, event in INBOUND.items():
        assert LEARNER in event.schema.fields, name
        assert ("client_id" in {f.name for f in event.schema.fields}) == event.once, name
    assert event.parse({"learner": None}).learner is None
    assert INBOUND["hand_raise"].parse({"learner": "s-1"}).learner == "s-1"


def test_the_doc_lists_exactly_the_events_of_the_table() -> None:
    assert set(INBOUND_ROWS) == set(INBOUND)
    assert set(OUTBOUND_ROWS) == set(OUTBOUND)


def test_the_doc_names_every_field_of_every_inbound_event() -> None:
    assert '"learner"' in DOC  # the envelope, once for every event
    missing = [
        f"{name}.{f.name}"
        for name, event in INBOUND.items()
        for f in event.schema.fields
        if f is not LEARNER and f'"{f.name}"' not in INBOUND_ROWS[name]
    ]
    assert not missing, f"docs/protocol.md does not name: {missing}"


# The shapes the doc defines once and names in its rows, and the rows that refer to others.
NAMED = {"`Participant`": PARTICIPANT, "`ChatMessage`": CHAT_MESSAGE, "`Snapshot`": SNAPSHOT}
REFERS = {
    "`join`'s ack": INBOUND_ROWS["join"],
    "| the tally": OUTBOUND_ROWS["poll_tally"],
}


def test_the_doc_names_every_field_of_every_outbound_message() -> None:
    shapes = DOC.split("## Shapes", 1)[1].split("## ", 1)[0]
    for name, shape in NAMED.items():
        block = shapes.split(f"{name.strip('`')} = {{", 1)[1].split("}\n", 1)[0]
        assert [f for f in shape if f'"{f.rstrip("?")}"' not in block] == [], name
    missing = []
    for name, message in OUTBOUND.items():
        row = OUTBOUND_ROWS[name]
        row += "".join(text for ref, text in REFERS.items() if ref in row)
        named = {f.rstrip("?") for ref, shape in NAMED.items() if ref in row for f in shape}
        for f in (f.rstrip("?") for f in message.shape):
            if f not in named and f'"{f}"' not in row and f"`{f}`" not in row:
                missing.append(f"{name}.{f}")
    assert not missing, f"docs/protocol.md does not name: {missing}"


def js_list(text: str, const: str) -> list[str]:
    body = text.split(f"export const {const} = [", 1)[1].split("];", 1)[0]
    return re.findall(r"'([a-z_]+)'", body)


def sent_by_pages() -> set[str]:
    calls = r"(?:call|emit)\(\s*'([a-z_]+)'"  # conn.call('x', …), socket.emit('x')
    tables = r"(?:=>|return)\s*\['([a-z_]+)',"  # [event, payload] pairs passed to call
    return {
        n for text in PAGES.values() for n in re.findall(f"{calls}|{tables}", text) for n in n if n
    }


def listened_by_pages() -> set[str]:
    names: set[str] = set()
    for text in PAGES.values():
        names |= set(re.findall(r"\.on\('([a-z_]+)'", text))
        for body in re.findall(r"\nconst HANDLERS = \{\n(.*?)\n\};", text, re.S):
            names |= set(re.findall(r"^  ([a-z_]+): ", body, re.M))
        lists = r"for \(const name of \[([^\]]*)\]\)\s*\{?\s*\w+\.on\(name"
        for listed in re.findall(lists, text):
            names |= set(re.findall(r"'([a-z_]+)'", listed))
    return names


def test_the_pages_listen_for_exactly_what_the_server_sends() -> None:
    assert sorted(js_list(PAGES["protocol.js"], "SERVER_EVENTS")) == sorted(OUTBOUND)
    told = {n for text in PAGES.values() for n in re.findall(r"tell\('([a-z_]+)'", text)}
    unknown = listened_by_pages() - set(OUTBOUND) - told - SOCKET_IO_OWN
    assert not unknown, f"the pages listen for events nobody sends: {unknown}"
    handled = set(re.findall(r"name === '([a-z_]+)'", PAGES["protocol.js"]))
    assert set(OUTBOUND) - listened_by_pages() - handled == set()


def test_the_pages_send_only_declared_events_and_all_but_the_listed() -> None:
    sent = sent_by_pages()
    assert sent - set(INBOUND) == set(), "the pages send events the server does not declare"
    assert set(INBOUND) - sent == NOT_SENT_BY_PAGES


def test_the_python_client_listens_for_exactly_what_the_server_sends() -> None:
    assert sorted(SabakClient.EVENTS) == sorted(OUTBOUND)
    text = (ROOT / "client" / "sabak_client.py").read_text()
    called = set(re.findall(r"\.call\(\s*\"([a-z_]+)\"", text))
    assert called and called <= set(INBOUND), called - set(INBOUND)


def names_in_views() -> set[str]:
    """Every message name core/views.py builds: literal names only, so none escapes the check."""
    names: set[str] = set()
    tree = ast.parse((ROOT / "core" / "views.py").read_text())
    # _simple passes its own `name` on; its callers' literals are checked instead.
    simple = {
        id(n) for f in ast.walk(tree) if getattr(f, "name", "") == "_simple" for n in ast.walk(f)
    }
    for node in ast.walk(tree):
        if (
            not isinstance(node, ast.Call)
            or not isinstance(node.func, ast.Name)
            or id(node) in simple
        ):
            continue
        position = {"Outgoing": 1, "_simple": 0}.get(node.func.id)
        if position is None:
            continue
        arg = node.args[position]
        assert isinstance(arg, ast.Constant), f"views.py line {node.lineno}: name not a literal"
        names.add(str(arg.value))
    return names


def names_sent_elsewhere() -> set[str]:
    """Messages the server sends apart from the core's views (revoked, replaced, …)."""
    names: set[str] = set()
    for package in ("signaling", "server", "lessons", "media"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            names |= set(re.findall(r"\.emit\(\s*\"([a-z_]+)\"", text))
            names |= set(re.findall(r"tell_everyone\([^,]+,\s*\"([a-z_]+)\"", text))
            # A notice on the lessons' bus, which the fan-out tells everyone in the lesson.
            names |= set(re.findall(r"\.notice\([^,]+,\s*\"([a-z_]+)\"", text))
    return names


def test_the_server_sends_exactly_the_declared_messages() -> None:
    in_views, elsewhere = names_in_views(), names_sent_elsewhere()
    assert in_views - set(OUTBOUND) == set(), "core/views.py sends undeclared messages"
    assert elsewhere - set(OUTBOUND) == set(), "the server sends undeclared messages"
    assert set(OUTBOUND) - in_views - elsewhere == set(), "declared but never sent"
    assert set(COALESCE_S) <= set(OUTBOUND), "the fan-out coalesces undeclared messages"


# -- the declared shapes against the payloads the core really builds ---------------------------

T0 = 1_700_000_000_000


def a_whole_lesson() -> Any:
    """A lesson that sends every message the core builds; each run returns its messages."""
    from core.lesson import Actor, Lesson
    from core.rules import Rules
    from core.views import outgoing

    teacher, kid, kid2 = (
        Actor("t", "teacher", "T"),
        Actor("s", "student", "S"),
        Actor("s2", "student", "S2"),
    )
    guest = Actor("g", "guest", "G")
    lesson = Lesson("L", "C", Rules())
    sent: list[Any] = []

    def run(actor: Actor, command: c.Command, at_s: float = 0) -> Any:
        outcome = lesson.execute(actor, command, T0 + int(at_s * 1000))
        sent.extend(m for r in outcome.records for m in outgoing(lesson, r))
        return outcome.result

    question = c.QuestionSpec("single", "Q", ("a", "b"), (0,))
    run(teacher, c.StartLesson("x", "t", True))
    for who in (teacher, kid, kid2, guest):
        run(who, c.Join())
    run(teacher, c.AdmitGuest("g"))
    quiz = run(teacher, c.StartQuiz("Q", (question,), "whole", 600, "seed"))["quiz_id"]
    run(kid2, c.ConnectionLost(T0))
    run(kid2, c.Join(resume=True), 20)  # back within the grace: time back in the quiz
    run(kid, c.NextQuestion(quiz), 21)
    run(kid, c.AnswerQuiz(quiz, 1, 0), 22)
    run(teacher, c.PublishQuiz(quiz), 23)
    run(kid, c.SendChat("m1", "hi"), 24)
    run(kid, c.SendChat("m2", "psst", "teacher"), 25)
    run(teacher, c.DeleteChat(1), 26)
    run(teacher, c.LockChat(True), 27)
    run(teacher, c.MuteChat("s", True), 28)
    run(teacher, c.SetGuestEntry(False), 29)
    run(kid, c.RaiseHand(), 30)
    run(teacher, c.LowerHand("s"), 31)
    run(kid, c.SetVisibility(False, True), 32)
    check = run(teacher, c.StartCheck(), 33)["check_id"]
    run(kid, c.AnswerCheck(check), 34)
    run(teacher, c.CloseCheck(check), 35)
    for kind, answer in (("single", 1), ("number", 4.5), ("text", "hm")):
        options = ("a", "b") if kind == "single" else ()
        poll = run(teacher, c.OpenPoll(kind, "Q", options), 40)["poll_id"]  # type: ignore[arg-type]
        run(kid, c.AnswerPoll(poll, answer), 41)
        run(teacher, c.PublishPoll(poll, with_names=True), 42)
    run(teacher, c.GiveFloor("s", camera=True), 50)
    run(kid, c.AnswerFloor(True), 51)
    run(teacher, c.TakeFloor("s"), 52)
    run(teacher, c.StartRecording(), 52)
    run(Actor("system", "system"), c.FailRecording("disk-full"), 52)
    run(teacher, c.NoteRestart(T0), 53)
    run(teacher, c.RemoveParticipant("g"), 54)
    snapshots = [snapshot_of(lesson, pid) for pid in lesson.participants]
    run(teacher, c.EndLesson(), 60)
    return sent, snapshots


def snapshot_of(lesson: Any, pid: str) -> dict[str, Any]:
    from core.views import snapshot

    return snapshot(lesson, pid)


def test_what_the_core_sends_has_the_declared_shapes() -> None:
    sent, snapshots = a_whole_lesson()
    assert {m.name for m in sent} == names_in_views()  # the scenario sends every one
    # `admitted` is the core's snapshot; the fan-out adds the guest's own ice_servers to it.
    shapes = {**{n: o.shape for n, o in OUTBOUND.items()}, "admitted": SNAPSHOT}
    problems = [p for m in sent for p in shape_problems(m.body(), shapes[m.name], m.name)]
    problems += [p for s in snapshots for p in shape_problems(s, SNAPSHOT, "snapshot")]
    assert not problems, "\n".join(problems)
