"""bench/eventlog.py at tiny sizes: it runs, stores every event once, and prints its table."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from bench import common as cm
from bench import eventlog

TINY = "--quick --events 40 --burst 50 --bursts 1 --lessons 3 --per-lesson 40 --log-events 600"
TINY_ARGS = [*TINY.split(), "--students", "30", "--wait-quiet", "0"]


def test_eventlog_bench_prints_every_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cm, "RESULTS", tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    eventlog.main(TINY_ARGS)
    out = capsys.readouterr().out
    for what in ("one at a time: throughput", "bursts: ack p50 / p99",
                 "lessons at once: CPU / event", "read (`EventLog.read`)",
                 "fold into a lesson", "fold into an attendance report",
                 "Redis memory / stored event"):  # fmt: skip
        assert what in out, what
    assert "problem:" not in out  # every event stored exactly once, and read back
    report = json.loads(next(tmp_path.glob("eventlog-*.json")).read_text())
    by = {r["phase"]: r for r in report["results"]}
    assert by["sequential"]["events"] == 40
    assert by["bursts"]["events"] == 50
    assert by["read"]["events"] >= 600
    assert not list(scratch.iterdir())  # Redis's temp dir is gone
