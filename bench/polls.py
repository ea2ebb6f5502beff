"""Polls benchmark (issue 4): a poll answered by N students over S seconds; acks, final tally."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from typing import Any

from bench import common as cm
from bench.attendance import AnswerPlan, RoundOptions, answer_main, answer_round, seconds
from bench.joinstorm import (
    base_parser,
    bench_main,
    count_logged,
    cpu_cell,
    lesson_log,
    other_load,
    run_crowd,
)
from bench.signaling import Run
from client.sabak_client import SabakClient

OPTIONS = ["red", "green", "blue", "yellow"]  # student i answers option i % 4


async def poll_round(run: Run) -> dict[str, Any]:
    opts = run.opts
    assert isinstance(opts, RoundOptions)
    plan = AnswerPlan("poll_opened", "poll_answer", "poll_id", spread_s=opts.spread,
                      jitter_s=opts.jitter, choices=len(OPTIONS))  # fmt: skip

    async def issue(teacher: SabakClient) -> dict[str, Any]:
        poll = {"kind": "single", "question": "Which colour?", "options": OPTIONS,
                "anonymous": False}  # fmt: skip
        return await teacher.call("poll_open", poll)

    result = await answer_round(run, plan, issue, "poll_tally")
    poll_id = result["issue_ack"]["poll_id"]
    logged = count_logged(await lesson_log(run), "PollAnswered", poll_id=poll_id)
    expected = expected_counts(run.n, min(opts.clients_procs, run.n))
    counts = (result["final_tally"] or {}).get("counts")
    return result | logged | {"expected_counts": expected, "tally_matches": counts == expected}


def expected_counts(n: int, procs: int) -> list[int]:
    """The final tally if every answer is stored: each worker numbers its students from 0."""
    counts = [0] * len(OPTIONS)
    for p in range(procs):
        share = n // procs + (1 if p < n % procs else 0)
        for i in range(share):
            counts[i % len(OPTIONS)] += 1
    return counts


HEADERS = [
    "N", "answers over", "open → last stored", "poll_answer ack p50 / p99 (max)",
    "teacher's tally = N at", "PollAnswered logged (dups)", "server CPU / answer (idle rate)",
    "server busy", "other load",
]  # fmt: skip


def table(results: list[dict[str, Any]]) -> str:
    return cm.markdown_table(HEADERS, [row(r) for r in results])


def row(r: dict[str, Any]) -> list[str]:
    spread = f"{r['spread']:g} s" if r["spread"] else "at once"
    return [str(r["n"]), spread, f"{r['last_stored_s'] * 1000:.0f} ms",
            f"{r['ack_p50_ms']:.1f} / {r['ack_p99_ms']:.1f} ({r['ack_max_ms']:.0f}) ms",
            seconds(r["final_tally_s"]) + ("" if r["tally_matches"] else " (wrong counts!)"),
            f"{r['logged']} ({r['logged_duplicates']})",
            cpu_cell(r["server_ms_per_answer"], r["idle_server_cpu_ms_per_s"]),
            f"{r['server_cores'] * 100:.0f} %", other_load(r)]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = base_parser(__doc__, [1000])
    p.add_argument("--spread", type=float, default=10.0, metavar="S",
                   help="answers evenly spaced over S s after the poll opens")  # fmt: skip
    p.add_argument(
        "--burst",
        dest="spread",
        action="store_const",
        const=0.0,
        help="every student answers as soon as the poll arrives (--spread 0)",
    )
    p.add_argument("--jitter", type=float, default=0.0, metavar="S",
                   help="plus a random delay of up to S s per student")  # fmt: skip
    opts = RoundOptions(**vars(p.parse_args(argv)))

    async def one(n: int, source: Path | None) -> dict[str, Any]:
        return await run_crowd(n, opts, source, poll_round, answer_main, join=True) | {
            "spread": opts.spread
        }

    bench_main("polls", opts, one, table)


if __name__ == "__main__":
    main()
