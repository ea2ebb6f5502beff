"""Every benchmark of bench/ in sequence at moderate sizes; one table of the headline figures.

    .venv/bin/python bench/all.py [--quick] [--only signaling polls ...]

Each benchmark runs as its own subprocess (in its own session, so that it and everything it
starts can be stopped by its process group), bounded by a per-step timeout: on expiry it gets
SIGINT (every benchmark cleans up on it), then SIGTERM, then SIGKILL. A step that fails or
times out is a "failed" row with the reason; the others still run. Worst case: the sum of the
step timeouts (default 27 min, --quick 13 min) plus up to 80 s per step to stop it; usually
about 4 min, --quick about 2 min (both measured on a busy 2-core machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import common as cm

BENCH = Path(__file__).resolve().parent
Row = list[str]  # parameters, figure, value, note


@dataclass
class Step:
    """One benchmark: its arguments (default and --quick), time limits, and headline rows."""

    name: str
    args: list[str]
    quick: list[str]
    timeout_s: float
    quick_timeout_s: float
    rows: Callable[[str, Path], list[Row]]  # (stdout, a scratch file) -> headline rows
    script: str = ""  # bench/<script>.py; the step's name if empty


def crowd_note(r: dict[str, Any]) -> str:
    busy = r["foreign_cpu_s"] / max(r["window_s"], 1e-9)
    problems = len(r.get("server_log_problems", []))
    notes = [f"other load {busy * 100:.0f} %"] if busy > 0.25 else []
    return "; ".join(notes + ([f"{problems} server log problems"] if problems else []))


def results_of(stdout: str) -> list[dict[str, Any]]:
    """The results of a benchmark that prints `results: <json path>`."""
    paths = [
        line[len("results: ") :] for line in stdout.splitlines() if line.startswith("results: ")
    ]
    if not paths:
        raise RuntimeError("no 'results:' line in its output")
    return json.loads(Path(paths[-1]).read_text())["results"]  # type: ignore[no-any-return]


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def p50_p99(r: dict[str, Any], prefix: str) -> str:
    return f"{ms(r[prefix + '_p50_ms'])} / {ms(r[prefix + '_p99_ms'])}"


def logged(r: dict[str, Any]) -> str:
    return f"{r['logged']} ({r['logged_duplicates']})"


def figures(params: str, note: str, pairs: list[tuple[str, str]]) -> list[Row]:
    return [[params, figure, value, note] for figure, value in pairs]


def signaling_rows(stdout: str, _: Path) -> list[Row]:
    rows = []
    for r in results_of(stdout):
        params = f"N={r['n']}, {r['messages']} msgs at {r['rate_per_s']:g}/s"
        rows += figures(params, crowd_note(r), [
            ("connect+join all", ms(r["join_all_s"] * 1000)),
            ("broadcast p50 / p99", p50_p99(r, "latency")),
            ("lost / duplicates", f"{r['lost']} / {r['duplicates']}"),
            ("server CPU / delivery", f"{r['server_us_per_delivery']:.0f} µs"),
        ])  # fmt: skip
    return rows


def attendance_rows(stdout: str, _: Path) -> list[Row]:
    rows = []
    for r in results_of(stdout):
        when = f"within {r['jitter']:g} s" if r["jitter"] else "at once"
        params = f"N={r['n']}, answers {when}"
        rows += figures(params, crowd_note(r), [
            ("issue → last answer stored", ms(r["last_stored_s"] * 1000)),
            ("check_answer ack p50 / p99", p50_p99(r, "ack")),
            ("CheckAnswered logged (duplicates)", logged(r)),
            ("server CPU / answer", f"{r['server_ms_per_answer']:.2f} ms"),
        ])  # fmt: skip
    return rows


def polls_rows(stdout: str, _: Path) -> list[Row]:
    rows = []
    for r in results_of(stdout):
        spread = f"over {r['spread']:g} s" if r["spread"] else "at once"
        tally = "never" if r["final_tally_s"] is None else ms(r["final_tally_s"] * 1000)
        rows += figures(f"N={r['n']}, answers {spread}", crowd_note(r), [
            ("poll_answer ack p50 / p99", p50_p99(r, "ack")),
            ("open → last stored / final tally", f"{ms(r['last_stored_s'] * 1000)} / {tally}"),
            ("PollAnswered logged (duplicates)", logged(r)),
            ("server CPU / answer", f"{r['server_ms_per_answer']:.2f} ms"),
        ])  # fmt: skip
    return rows


def joinstorm_rows(stdout: str, _: Path) -> list[Row]:
    rows = []
    for r in results_of(stdout):
        spread = f"over {r['spread']:g} s" if r["spread"] else f"at once, ≤ {r['gate']} at a time"
        took = f"{p50_p99(r, 'took')} / {ms(r['took_max_ms'])}"
        bad = f"{r['failures']} / {r['logged_duplicates']} / {r['n'] - r['logged_participants']}"
        rows += figures(f"N={r['n']}, arrivals {spread}", crowd_note(r), [
            ("connect+join p50 / p99 / max", took),
            ("failures / duplicate joins / missing", bad),
            ("server CPU / join", f"{r['server_ms_per_join']:.2f} ms"),
        ])  # fmt: skip
    return rows


def faults_rows(stdout: str, _: Path) -> list[Row]:
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    if len(lines) < 2:
        raise RuntimeError("no table in its output")
    heads = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[1:]:
        cells = dict(zip(heads, (c.strip() for c in line.strip("|").split("|")), strict=False))
        lost = f"{cells['acked but not stored']} / {cells['duplicates']}"
        rows += [[cells["fault"], "acked but not stored / duplicates", lost, ""],
                 [cells["fault"], "recovery", cells["recovery"].split(";")[0], ""]]  # fmt: skip
    return rows


def media_rows(_: str, scratch: Path) -> list[Row]:
    rows = []
    for setup, runs in json.loads(scratch.read_text()).items():
        base = runs["0"]["server_cpu_pct"]
        for k, r in sorted(((int(k), r) for k, r in runs.items() if k != "0")):
            fps = f"{r['video_fps_min']:.1f} fps min, {r['audio_fps_min']:.1f} audio fps min"
            note = f"other load {r['others_cpu_pct']:.0f} %" if r["others_cpu_pct"] > 25 else ""
            per = f"{(r['server_cpu_pct'] - base) / k:.2f} % of a core"
            figs = [("server CPU / student", per), ("frame rate", fps)]
            if setup.startswith("workers="):
                each = " + ".join(f"{w:.0f}" for w in r["worker_cpu_pct"])
                figs.append(("CPU % of each worker", each))
                label = f"{setup.replace('=', ' = ')}, 2 lessons, K={k} (lean students)"
            else:
                label = f"egress {setup}, K={k}"
            rows += figures(label, note, figs)
    return rows


def eventlog_rows(stdout: str, _: Path) -> list[Row]:
    by = {r["phase"]: r for r in results_of(stdout)}
    rows = []
    for phase, params in (
        ("sequential", "1 lesson, one event at a time"),
        ("bursts", f"1 lesson, bursts of {by['bursts']['burst']}"),
        ("concurrent", f"{by['concurrent']['lessons']} lessons at once"),
    ):
        r = by[phase]
        note = f"other load {r['other_cores'] * 100:.0f} %" if r["other_cores"] > 0.25 else ""
        cpu = f"{r['redis_us_per_event']:.0f} / {r['python_us_per_event']:.0f} µs"
        rows += figures(params, note, [
            ("append throughput", f"{r['events_per_s']:,.0f} events/s"),
            ("ack p50 / p99", p50_p99(r, "ack")),
            ("CPU / event, Redis / Python", cpu),
        ])  # fmt: skip
    read, fold, memory = by["read"], by["fold"], by["memory"]
    speeds = [read["events_per_s"], fold["replay_events_per_s"], fold["report_events_per_s"]]
    note = f"other load {read['other_cores'] * 100:.0f} %" if read["other_cores"] > 0.25 else ""
    rows += figures(f"log of {read['events']:,} events", note, [
        ("read / fold / report", " / ".join(f"{v:,.0f}" for v in speeds) + " events/s"),
        ("Redis memory / event", f"{memory['used_memory_bytes_per_event']:.0f} B"),
    ])  # fmt: skip
    return rows


QUIET = ["--wait-quiet", "10"]
STEPS = [
    Step("signaling", ["--ns", "100", "1000", "--messages", "10", *QUIET],
         ["--ns", "200", "--messages", "5", "--wait-quiet", "3"], 240, 90, signaling_rows),
    Step("attendance", ["--ns", "1000", *QUIET], ["--ns", "300", "--wait-quiet", "3"],
         150, 60, attendance_rows),
    Step("polls", ["--ns", "1000", "--spread", "10", *QUIET],
         ["--ns", "300", "--spread", "3", "--wait-quiet", "3"], 150, 60, polls_rows),
    Step("joinstorm", ["--ns", "1000", "--spread", "10", *QUIET],
         ["--ns", "300", "--spread", "3", "--wait-quiet", "3"], 150, 60, joinstorm_rows),
    Step("faults", ["--students", "30"], ["--students", "10", "--outage", "3"], 180, 90,
         faults_rows),
    Step("media", ["--ks", "1", "10", "--window", "5", "--warmup", "2", "--attempts", "1",
                   "--others-max", "200"],
         ["--ks", "1", "--window", "2", "--warmup", "1", "--egress", "direct", "--attempts",
          "1", "--others-max", "200"], 300, 180, media_rows),
    Step("media-workers", ["--workers", "1", "2", "--lessons", "2", "--lean", "--ks", "100",
                           "--window", "5", "--warmup", "2", "--attempts", "1",
                           "--others-max", "200"],
         ["--workers", "1", "2", "--lessons", "2", "--lean", "--ks", "10", "--window", "2",
          "--warmup", "1", "--attempts", "1", "--others-max", "200"], 300, 180, media_rows,
         script="media"),
    Step("eventlog", ["--wait-quiet", "5"], ["--quick"], 150, 60, eventlog_rows),
]  # fmt: skip


def run_step(step: Step, quick: bool, scratch: Path) -> tuple[list[Row], str]:
    """Run one benchmark; its headline rows, or a failed row with the reason."""
    script = BENCH / f"{step.script or step.name}.py"
    if not script.exists():
        return [["", "(not run)", "skipped", f"{script.name} does not exist"]], ""
    args = [*(step.quick if quick else step.args)]
    if (step.script or step.name) == "media":
        args += ["--json", str(scratch)]
    timeout = step.quick_timeout_s if quick else step.timeout_s
    stdout, stderr, reason = run_bounded([sys.executable, str(script), *args], timeout)
    try:
        if reason:
            raise RuntimeError(reason)
        return step.rows(stdout, scratch), stdout
    except (RuntimeError, OSError, ValueError, KeyError, TypeError) as exc:
        tail = " / ".join(stderr.strip().splitlines()[-2:])[-300:]
        return [[" ".join(args), "(run)", "failed", f"{exc}; stderr: {tail}"]], stdout


def run_bounded(command: list[str], timeout: float) -> tuple[str, str, str]:
    """stdout, stderr and "" (or why it failed) of a child stopped within `timeout`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 cwd=cm.REPO, start_new_session=True)  # fmt: skip
        reason = ""
        try:
            child.wait(timeout)
            if child.returncode:
                reason = f"exit status {child.returncode}"
        except subprocess.TimeoutExpired:
            reason = f"timed out after {timeout:.0f} s"
        finally:
            stop_child(child)
        out.seek(0)
        err.seek(0)
        return out.read().decode(errors="replace"), err.read().decode(errors="replace"), reason


def stop_child(child: subprocess.Popen[bytes]) -> None:
    """SIGINT (a benchmark cleans up), then SIGTERM, then SIGKILL; then what is left of its
    process group (its own session: only what it started)."""
    for sig, grace in ((signal.SIGINT, 60), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if child.poll() is not None:
            break
        child.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def facts() -> dict[str, Any]:
    machine = cm.machine_facts()
    git = cm.git_state()
    return machine | {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "python": platform.python_version(),
        "commit": git["commit"][:12], "changed_files": len(git["changed"]),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, about 2 minutes")
    p.add_argument("--only", nargs="+", choices=[s.name for s in STEPS], help="run only these")
    opts = p.parse_args(argv)
    steps = [s for s in STEPS if not opts.only or s.name in opts.only]
    table, runs, began = [], [], time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sabak-all-") as tmp:
        for step in steps:
            started = time.monotonic()
            print(f"{step.name}: running", file=sys.stderr, flush=True)
            rows, stdout = run_step(step, opts.quick, Path(tmp) / f"{step.name}.json")
            took = time.monotonic() - started
            print(f"{step.name}: {took:.0f} s", file=sys.stderr, flush=True)
            table += [[step.name, *row] for row in rows]
            runs.append({"name": step.name, "seconds": took, "stdout": stdout})
    about = facts()
    sizes = "quick" if opts.quick else "default"
    print(f"Date: {about['date']}; {about['cpus']} cores ({about['cpu_model']}), "
          f"{about['memory_bytes'] / 2**30:.0f} GiB, Python {about['python']}; commit "
          f"{about['commit']} with {about['changed_files']} changed files; "
          f"{sizes} sizes, {time.monotonic() - began:.0f} s\n")  # fmt: skip
    print(cm.markdown_table(["benchmark", "parameters", "figure", "value", "note"], table))
    report = {"facts": about, "quick": opts.quick, "rows": table, "runs": runs}
    print(f"\nresults: {cm.write_results('all-quick' if opts.quick else 'all', report)}")


if __name__ == "__main__":
    main()
