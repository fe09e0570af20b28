import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from workbench import Store, WorkbenchDataError

WRITER = """
import sys
from workbench import Store
store = Store(sys.argv[1])
for k in range(int(sys.argv[3])):
    row = store.add_tag(f"item-{k}", "note", f"{sys.argv[2]}-{k}", tagger=sys.argv[2])
    print(row, flush=True)
"""


def test_tags_are_an_append_only_history(tmp_path):
    store = Store(tmp_path / "p.sqlite")
    store.add_tag("i1", "subjectivity", "manifest", tagger="ana")
    store.add_tag("i1", "subjectivity", "latent_projective", tagger="ben", note="depends on the reader")
    store.add_tag("i2", "plurality", "multiple_correct", tagger="ana")
    current = store.current_tags().set_index(["item_id", "scheme"])
    assert current.loc[("i1", "subjectivity"), "value"] == "latent_projective"
    assert current.loc[("i1", "subjectivity"), "note"] == "depends on the reader"
    history = store.tag_history()
    assert history["value"].tolist() == ["manifest", "latent_projective", "multiple_correct"]
    assert len(store.tag_history("i1")) == 2
    assert Store(tmp_path / "p.sqlite").current_tags().shape[0] == 2  # reopening keeps everything


def test_tag_validation(tmp_path):
    store = Store(tmp_path / "p.sqlite")
    with pytest.raises(WorkbenchDataError, match="not in scheme 'subjectivity'"):
        store.add_tag("i1", "subjectivity", "obvious", tagger="ana")
    with pytest.raises(WorkbenchDataError, match="tagger must be a non-empty string"):
        store.add_tag("i1", "free", "x", tagger="")
    assert store.tag_history().empty


def test_recipes_and_scores(tmp_path):
    import pandas as pd

    store = Store(tmp_path / "p.sqlite")
    store.save_recipe("sac", {"rules": [{"group": "NoAgree", "action": "flip"}]})
    store.save_recipe("sac", {"rules": []})
    assert store.load_recipe("sac") == {"rules": []} and store.recipe_names() == ["sac"]
    with pytest.raises(WorkbenchDataError, match="no recipe named 'other'"):
        store.load_recipe("other")
    with pytest.raises(WorkbenchDataError, match="not JSON-serialisable"):
        store.save_recipe("bad", {"x": object()})
    scores = pd.DataFrame({"item_id": ["a", "b"], "score_a": [0.1, 0.2], "score_b": [0.3, 0.4]})
    store.save_scores("rm@abc123", scores)
    store.save_scores("rm@abc123", scores.assign(score_a=[1.0, 2.0]))
    loaded = store.load_scores("rm@abc123")
    assert loaded["score_a"].tolist() == [1.0, 2.0]


def test_schema_version_and_not_sqlite(tmp_path):
    path = tmp_path / "p.sqlite"
    Store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database" * 100)
    with pytest.raises(WorkbenchDataError, match="not a usable SQLite file"):
        Store(junk)


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_committed_tag(tmp_path):
    path = tmp_path / "p.sqlite"
    Store(path)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "w", "100000"], stdout=subprocess.PIPE, text=True)
    committed = []
    for line in writer.stdout:
        committed.append(int(line))
        if len(committed) >= 150:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    committed.extend(int(line) for line in writer.stdout.read().split())
    history = Store(path).tag_history()
    assert set(committed) <= set(history["id"])
    assert len(history) >= len(committed) >= 150
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
def test_two_writers_at_once_keep_every_row(tmp_path):
    path = tmp_path / "p.sqlite"
    Store(path)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "500"], stdout=subprocess.DEVNULL)
        for name in ("ana", "ben")
    ]
    start = time.monotonic()
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    history = Store(path).tag_history()
    assert len(history) == 1000, f"{len(history)} rows after {time.monotonic() - start:.1f}s"
    assert history["tagger"].value_counts().to_dict() == {"ana": 500, "ben": 500}
