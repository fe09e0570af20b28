"""The benchmarks' shared load guard (benchmarks/harness.py): no result rows from a busy machine unless marked."""

import argparse
import importlib.util
import json

import pytest

from conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture()
def harness(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_harness", BENCHMARKS / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module.atexit, "register", lambda fn: None)  # the end-of-run line is printed by _at_exit below
    return module


def _run(harness, monkeypatch, load, argv, path):
    monkeypatch.setattr(harness, "load_average", lambda: load)
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = harness.parse(parser, [*argv, "--json", str(path)])
    return harness.write_json(args.json, {"device": "cpu", "rows": [{"case": "x", "ours": 1.0}]})


def test_a_busy_machine_writes_no_rows(harness, monkeypatch, tmp_path, capsys):
    path = tmp_path / "rows.json"
    with pytest.raises(SystemExit) as stopped:
        _run(harness, monkeypatch, 2.0, [], path)
    assert stopped.value.code == 3 and not path.exists()
    err = capsys.readouterr().err
    assert "load average at start: 2.00" in err and "--loaded" in err and "not writing" in err


def test_loaded_rows_say_so(harness, monkeypatch, tmp_path, capsys):
    path = tmp_path / "rows.json"
    assert _run(harness, monkeypatch, 2.0, ["--loaded"], path)
    written = json.loads(path.read_text())
    assert written["rows"][0] | {} == {"case": "x", "ours": 1.0, "load_start": 2.0, "load_end": 2.0, "loaded": True}
    harness._at_exit()
    assert "load average at end: 2.00" in capsys.readouterr().err


def test_an_idle_machine_writes_rows_with_their_load(harness, monkeypatch, tmp_path):
    path = tmp_path / "rows.json"
    assert _run(harness, monkeypatch, 0.4, [], path)
    assert json.loads(path.read_text())["rows"][0]["loaded"] is False
    assert not harness.write_json(None, [])  # no --json: nothing to write


def test_a_run_that_loads_the_machine_itself_is_judged_by_its_start(harness, monkeypatch, tmp_path):
    """Idle at the start, busy at the end (the benchmark's own threads): rows are written, with both figures."""
    path, loads = tmp_path / "rows.json", iter([0.4, 4.7])
    monkeypatch.setattr(harness, "load_average", lambda: next(loads))
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = harness.parse(parser, ["--json", str(path)])
    assert harness.write_json(args.json, [{"case": "x"}])
    assert json.loads(path.read_text())[0] == {"case": "x", "load_start": 0.4, "load_end": 4.7, "loaded": False}


@pytest.mark.parametrize("bench", sorted(p.name for p in BENCHMARKS.glob("bench_*.py")))
def test_every_benchmark_goes_through_the_guard(bench):
    """One shared helper, no copies: each benchmark parses with harness.parse and writes only through harness.write_json."""
    text = (BENCHMARKS / bench).read_text()
    assert "import harness" in text and "harness.parse(parser" in text and ".parse_args(" not in text
    assert "json.dump(" not in text and ".write_text(" not in text
