"""Polls and a quiz in real headless Chromium: the teacher page runs them, two phones answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests import browser
from tests.browser import ARTIFACTS, BROWSER_MARKS, CONTEXT_PERMISSIONS, chromium
from tests.conftest import Classroom, Running, make_classroom
from tests.test_web import new_page, open_student, phone, snap

pytestmark = [pytest.mark.store("memory"), *BROWSER_MARKS, pytest.mark.timeout(120)]
# The session's browser and event loop (tests/browser.py): these override conftest's here.
redis_url, server = browser.redis_url, browser.server

CATALOGUES = Path(__file__).resolve().parent.parent / "client" / "web" / "i18n"
EN, KY = (
    json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "ky")
)
XSS = "<img src=x onerror=alert(1)>"
QUESTIONS = [
    ("1/2 + 1/4 = ?", ["3/4", "2/6", "1/8"], ["3/4"]),
    ("Which are equal to 1/2?", ["2/4", "3/6", "2/3"], ["2/4", "3/6"]),
]


async def test_a_poll_and_a_quiz_from_the_teacher_page_to_two_phones(server: Running) -> None:
    room = await make_classroom(server, n_students=2, start=False)
    dialogs: list[str] = []
    async with chromium() as (browser, pixel):
        desk = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
        teacher = await new_page(desk, dialogs)
        await start_lesson(teacher, room)
        a = await new_page(await phone(pixel, browser, width=360), dialogs)
        ky_phone = {**pixel, "locale": "ky-KG", "permissions": CONTEXT_PERMISSIONS}
        b = await new_page(await browser.new_context(**ky_phone), dialogs)
        await open_student(a, room.students[0]["link"])
        await open_student(b, room.students[1]["link"])
        await expect(b.locator("html")).to_have_attribute("lang", "ky")

        await poll_round(teacher, a, b)
        await quiz_round(teacher, a, b)

        for page in (teacher, a, b):
            assert page.errors == []  # type: ignore[attr-defined]
        assert not [d for d in dialogs if d.startswith("alert")], dialogs


async def start_lesson(teacher: Page, room: Classroom) -> None:
    await teacher.goto(room.teacher["link"])
    row = teacher.locator(f"[data-lesson='{room.lesson['id']}']")
    await row.get_by_role("button", name=EN["teach.start"]).click()
    await expect(teacher.locator("body")).to_have_attribute("data-conn", "online")


async def poll_round(teacher: Page, a: Page, b: Page) -> None:
    await teacher.select_option("#poll-kind", "single")
    await teacher.fill("#poll-question", "Which fruit is best?")
    await teacher.fill("#poll-options", f"Apples\nPears\n{XSS}")
    await teacher.click("#poll-open")

    # A (English, 360 px) picks Pears; B (Kyrgyz) picks the option that looks like markup.
    await choice(a.locator("#polls"), "Pears").click()
    await expect(a.locator("#polls [data-status=sent]")).to_have_text(EN["poll.saved_change"])
    await choice(b.locator("#polls"), XSS).click()
    await expect(b.locator("#polls [data-status=sent]")).to_have_text(KY["poll.saved_change"])
    await snap(a, "student-poll-answer-360.png")
    for page in (a, b):
        assert await page.locator("#polls img").count() == 0

    entry = teacher.locator("[data-poll-id='1']")
    await expect(entry.locator("[data-option='1']")).to_have_attribute("data-count", "1")
    await expect(entry.locator("[data-option='2']")).to_have_attribute("data-count", "1")
    await expect(entry.locator("[data-option='0']")).to_have_attribute("data-count", "0")
    await expect(entry.get_by_text(EN["poll.answered"].format(n=2))).to_be_visible()
    await entry.locator("[data-act=publish-names]").click()

    for page, lang in ((a, EN), (b, KY)):
        results = page.locator("#polls [data-results='1']")
        await expect(results.locator("[data-option='1']")).to_have_attribute("data-count", "1")
        await expect(results.locator(".names li", has_text="Student 0")).to_contain_text("Pears")
        await expect(results.locator(".names li", has_text="Student 1")).to_contain_text(XSS)
        await expect(results.get_by_text(lang["poll.names"])).to_be_visible()
        assert await page.locator("#polls img").count() == 0
    published = EN["teach.status_published_names"]
    await expect(entry.locator("[data-status]")).to_have_text(published)
    await snap(a, "student-poll-360.png")
    await snap(teacher, "teacher-poll.png")


async def quiz_round(teacher: Page, a: Page, b: Page) -> None:
    await teacher.fill("#quiz-title", "Fractions check")
    await teacher.fill("#quiz-limit", "120")
    await teacher.click("#quiz-add")
    for n, (text, options, correct) in enumerate(QUESTIONS, start=1):
        editor = teacher.locator(f"#quiz-questions [data-question='{n}']")
        kind = "single" if len(correct) == 1 else "multiple"
        await editor.locator(".q-kind").select_option(kind)
        await editor.locator(".q-text").fill(text)
        rows = editor.locator(".option-row")
        for i, option in enumerate(options):
            await rows.nth(i).locator(".q-option").fill(option)
            if option in correct:
                await rows.nth(i).locator(".q-correct").check()
    await teacher.click("#quiz-start")
    await expect(teacher.locator("#quiz-error")).to_have_text("")
    entry = teacher.locator("[data-quiz-id='1']")
    await expect(entry).to_be_visible()

    # Each phone has its own question and option order: find each question by its text and
    # tap the correct options by theirs (the page sends indexes in that phone's order).
    for page in (a, b):
        card = page.locator("#quizzes [data-quiz='1']")
        await expect(card.locator(".countdown")).to_be_visible()
        for text, _options, correct in QUESTIONS:
            block = card.locator(".question-block", has_text=text)
            for option in correct:
                await choice(block, option).click()
            if len(correct) > 1:
                await block.locator("[data-save]").click()
            await expect(block.locator("[data-status=sent]")).to_be_visible()
    await snap(a, "student-quiz-360.png")
    await a.locator("#quizzes [data-quiz='1']").scroll_into_view_if_needed()
    await a.screenshot(path=str(ARTIFACTS / "student-quiz-360-screen.png"))

    await expect(entry.locator("[data-started]")).to_have_attribute("data-started", "2")
    for qid in ("q1", "q2"):
        answered = entry.locator(f"[data-question-id='{qid}']")
        await expect(answered).to_contain_text(EN["poll.answered"].format(n=2))
    await entry.locator("[data-act=publish]").click()

    await expect(a.locator("#quizzes .score")).to_have_text(EN["quiz.score"].format(s=2, m=2))
    await expect(b.locator("#quizzes .score")).to_have_text(KY["quiz.score"].format(s=2, m=2))
    scores = entry.locator("[data-results=learners] td[data-score]")
    await expect(scores).to_have_count(2)
    assert await scores.evaluate_all("cells => cells.map(c => c.dataset.score)") == ["2", "2"]
    rights = entry.locator("[data-results=questions] td[data-correct]")
    assert await rights.evaluate_all("cells => cells.map(c => c.dataset.correct)") == ["2", "2"]
    await snap(a, "student-quiz-score-360.png")
    await snap(b, "student-quiz-score-ky.png")
    await snap(teacher, "teacher-quiz.png")
    await teacher.set_viewport_size({"width": 360, "height": 780})
    await snap(teacher, "teacher-quiz-360.png")


def choice(scope: Page | Locator, text: str) -> Locator:
    """The big option button whose whole text is `text`."""
    return scope.locator("button.choice").and_(scope.get_by_role("button", name=text, exact=True))


async def test_a_shared_phone_answers_a_poll_and_a_timed_quiz_for_each_learner(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2)
    teacher = server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    first, second = (s["id"] for s in room.students)
    try:
        async with chromium() as (browser, pixel):
            page = await new_page(await phone(pixel, browser, width=360), [])
            await open_student(page, room.students[0]["link"])
            await page.locator("#learners summary").click()
            await page.fill("#add-link", room.students[1]["link"])
            await page.click("#add-form button[type=submit]")
            await expect(page.locator("#learner-list li")).to_have_count(2)

            # A yes/no poll: the tabs say who answers; after one, the next learner's turn.
            await teacher.call("poll_open", {"kind": "yesno", "question": "Ready?"})
            polls = page.locator("#polls")
            await expect(polls.locator(f".tabs [data-learner='{first}']")).to_have_attribute(
                "aria-pressed", "true"
            )
            await choice(polls, EN["poll.yes"]).click()
            second_tab = polls.locator(f".tabs [data-learner='{second}']")
            await expect(second_tab).to_have_attribute("aria-pressed", "true")
            await choice(polls, EN["poll.no"]).click()
            await expect(second_tab).to_have_attribute("data-done", "yes")
            tally = await teacher.wait_for("poll_tally", lambda x: x["answered"] == 2, 10)
            assert tally["counts"] == [1, 1, 0]

            # An anonymous short-text poll: markup typed as an answer comes back as text.
            await teacher.call("poll_close", {"poll_id": 1})
            text_poll = {"kind": "text", "question": "One word?", "anonymous": True}
            await teacher.call("poll_open", text_poll)
            card = polls.locator("[data-poll='2']")
            await expect(card.locator(".tag")).to_have_text(EN["poll.anonymous"])
            await expect(card.locator(".tabs [aria-pressed=true]")).to_have_text("Student 1")
            await card.locator("input").fill(XSS)
            await card.locator("button[type=submit]").click()
            # Answered for Student 1: the card passes to Student 0, who has not answered.
            done = card.locator(f".tabs [data-learner='{second}']")
            await expect(done).to_have_attribute("data-done", "yes")
            await expect(card.locator(".tabs [aria-pressed=true]")).to_have_text("Student 0")
            await teacher.call("poll_publish", {"poll_id": 2})
            await expect(card.locator(".texts li")).to_have_text(XSS)
            assert await page.locator("#polls img").count() == 0

            # One question at a time, each with its own clock, for each learner in turn.
            quiz = {
                "title": "Quick",
                "mode": "per_question",
                "questions": [
                    {"kind": "number", "text": "6 × 7 = ?", "correct": [42], "limit_s": 60},
                    {
                        "kind": "single",
                        "text": "The capital of Kyrgyzstan?",
                        "options": ["Bishkek", "Osh", "Naryn"],
                        "correct": [0],
                        "limit_s": 60,
                    },
                ],
            }
            started = await teacher.call("quiz_start", quiz)
            card = page.locator("#quizzes [data-quiz='1']")
            for pid in (first, second):
                await card.locator(f".tabs [data-learner='{pid}']").click()
                for position in (1, 2):
                    await card.locator("[data-next]").click()
                    await answer_shown(card, position)
                    if position == 1:
                        await snap(page, "student-quiz-one-at-a-time-360.png")
                await card.locator("[data-next]").click()
                await expect(card.locator(".done")).to_have_text(EN["quiz.done"])
            await teacher.call("quiz_publish", {"quiz_id": started["quiz_id"]})
            scores = page.locator("#quizzes .score")
            await expect(scores).to_have_count(2)
            for n in range(2):
                want = EN["quiz.score_named"].format(name=f"Student {n}", s=2, m=2)
                await expect(scores.nth(n)).to_have_text(want)
            await snap(page, "student-shared-quiz-360.png")
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await teacher.close()


async def answer_shown(card: Locator, position: int) -> None:
    """Answer the one question shown (whichever this learner's order put there) correctly."""
    block = card.locator(f".question-block[data-position='{position}']")
    await expect(card.locator(".countdown")).to_be_visible()
    if "6 × 7" in await block.locator("[data-text]").inner_text():
        await block.locator("input").fill("42")
        await block.locator("button[type=submit]").click()
    else:
        await choice(block, "Bishkek").click()
    await expect(block.locator("[data-status=sent]")).to_be_visible()
