import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from workbench import Store, WorkbenchDataError
from workbench.data.store import SCHEMA_VERSION

WRITER = """
import sys
from workbench import Store
store = Store(sys.argv[1])
values = ("manifest", "latent_pattern", "latent_projective")
for k in range(int(sys.argv[3])):
    row = store.add_tag(f"item-{k}", "subjectivity", values[k % 3], tagger=sys.argv[2])
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
        store.add_tag("i1", "subjectivity", "manifest", tagger="")
    with pytest.raises(WorkbenchDataError, match="scheme 'free' is not registered in this store; known: subjectivity, plurality"):
        store.add_tag("i1", "free", "x", tagger="ana")
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
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
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


V1_DDL = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL, scheme TEXT NOT NULL, value TEXT NOT NULL,
    note TEXT, tagger TEXT NOT NULL, time TEXT NOT NULL
);
CREATE INDEX tags_item_scheme ON tags (item_id, scheme, id);
CREATE TABLE recipes (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, recipe TEXT NOT NULL, author TEXT, time TEXT NOT NULL);
CREATE TABLE scores (model TEXT NOT NULL, item_id TEXT NOT NULL, score_a REAL, score_b REAL, time TEXT NOT NULL, PRIMARY KEY (model, item_id));
INSERT INTO tags (item_id, scheme, value, note, tagger, time) VALUES
    ('i1', 'subjectivity', 'manifest', NULL, 'ana', '2026-11-01T10:00:00.000000+00:00'),
    ('i1', 'subjectivity', 'latent_projective', 'on reflection', 'ana', '2026-11-01T10:05:00.000000+00:00'),
    ('i2', 'reading', 'sarcastic', NULL, 'ben', '2026-11-01T10:06:00.000000+00:00'),
    ('i3', 'reading', 'literal', NULL, 'ben', '2026-11-01T10:07:00.000000+00:00');
INSERT INTO recipes (name, recipe, author, time) VALUES ('sac', '{"rules": []}', 'ana', '2026-11-01T10:00:00.000000+00:00');
"""


def test_version_1_store_upgrades_without_losing_anything(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_DDL)
    store = Store(path)
    history = store.tag_history()
    assert history["value"].tolist() == ["manifest", "latent_projective", "sarcastic", "literal"]
    assert history["action"].tolist() == ["add"] * 4 and history["note"].tolist()[1] == "on reflection"
    assert store.load_recipe("sac") == {"rules": []}
    # a free-text scheme of version 1 becomes a registered scheme of the values it used
    reading = store.schemes()["reading"]
    assert reading.value_names == ("sarcastic", "literal") and not reading.multi
    assert store.current_tags().set_index("item_id").loc["i1", "value"] == "latent_projective"
    store.add_tag("i4", "reading", "literal", tagger="cy")
    with pytest.raises(WorkbenchDataError, match="not in scheme 'reading'"):
        store.add_tag("i4", "reading", "ironic", tagger="cy")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert len(Store(path).tag_history()) == 5  # reopening an upgraded store changes nothing


def test_multi_choice_values_are_added_and_removed_as_rows(tmp_path):
    store = Store(tmp_path / "p.sqlite")
    store.add_tag("i1", "unreliability_source", "mislabeling", tagger="ana")
    store.add_tag("i1", "unreliability_source", "both_harmful", tagger="ana")
    store.add_tag("i1", "unreliability_source", "quality_threshold", tagger="ben")
    mine = store.current_tags("unreliability_source", per_tagger=True)
    assert sorted(mine.loc[mine["tagger"] == "ana", "value"]) == ["both_harmful", "mislabeling"]
    store.remove_tag("i1", "unreliability_source", "mislabeling", tagger="ana", note="it was a tie")
    with pytest.raises(WorkbenchDataError, match="'ana' has no 'mislabeling' tag on item 'i1'.*nothing written"):
        store.remove_tag("i1", "unreliability_source", "mislabeling", tagger="ana")
    history = store.tag_history()
    assert history["action"].tolist() == ["add", "add", "add", "remove"]
    # the latest tagger to act was ana: her values are the item's current tag
    assert store.current_tags()["value"].tolist() == ["both_harmful"]
    per_tagger = store.current_tags(per_tagger=True)
    assert per_tagger[["tagger", "value"]].values.tolist() == [["ana", "both_harmful"], ["ben", "quality_threshold"]]


def test_single_choice_removal_and_undo_add_rows(tmp_path):
    store = Store(tmp_path / "p.sqlite")
    assert store.undo_tag("i1", "subjectivity", tagger="ana") is None
    store.add_tag("i1", "subjectivity", "manifest", tagger="ana")
    store.add_tag("i1", "subjectivity", "latent_pattern", tagger="ben")
    store.remove_tag("i1", "subjectivity", "latent_pattern", tagger="ben")
    assert store.current_tags()[["value", "tagger"]].values.tolist() == [["manifest", "ana"]]  # ben withdrew
    store.undo_tag("i1", "subjectivity", tagger="ben")  # ben's tag is back
    assert store.current_tags()[["value", "tagger"]].values.tolist() == [["latent_pattern", "ben"]]
    store.undo_tag("i1", "subjectivity", tagger="ana")  # ana's only tag is withdrawn
    assert store.current_tags(per_tagger=True)["tagger"].tolist() == ["ben"]
    history = store.tag_history()
    assert history["action"].tolist() == ["add", "add", "remove", "add", "remove"]
    assert history["note"].tolist()[3:] == ["undo", "undo"]
    store.add_tag("i2", "unreliability_source", "mislabeling", tagger="ana")
    store.add_tag("i2", "unreliability_source", "both_harmful", tagger="ana")
    store.undo_tag("i2", "unreliability_source", tagger="ana")
    assert store.current_tags("unreliability_source")["value"].tolist() == ["mislabeling"]


def test_schemes_are_registered_data(tmp_path):
    from workbench import Scheme

    store = Store(tmp_path / "p.sqlite")
    assert list(store.schemes())[:4] == ["subjectivity", "plurality", "distinguishability", "unreliability_source"]
    assert store.schemes()["unreliability_source"].multi
    assert "rater's own beliefs" in store.scheme("subjectivity").values["latent_projective"]
    why = Scheme("why", {"ambiguous": "Two readings.", "taste": "Personal taste."}, note="required")
    assert store.add_scheme(why) == why
    assert store.add_scheme(why.to_dict()) == why  # the same definition again: nothing changes
    with pytest.raises(WorkbenchDataError, match="requires a note"):
        store.add_tag("i1", "why", "taste", tagger="ana")
    store.add_tag("i1", "why", "taste", tagger="ana", note="colour words")
    with pytest.raises(WorkbenchDataError, match="already registered with a different definition"):
        store.add_scheme(Scheme("why", {"ambiguous": "Two readings."}))
    with pytest.raises(WorkbenchDataError, match="value 'taste' is used by tags"):
        store.add_scheme(Scheme("why", {"ambiguous": "Two readings."}), replace=True)
    wider = Scheme("why", {"ambiguous": "Two readings.", "taste": "Personal taste.", "other": "Anything else."})
    store.add_scheme(wider, replace=True)
    assert Store(tmp_path / "p.sqlite").scheme("why") == wider  # travels with the store
    assert len(store.tag_history()) == 1


@pytest.mark.parametrize("text, suffix, message", [
    ("name: x\nvalues: {a: fine, b: [not, one, line]}\n", ".yaml", "the definition of value 'b' must be one line"),
    ("name: x\nvalues: {a: fine}\nmultiple: true\n", ".yaml", "unknown key 'multiple'"),
    ("name: x\n", ".yaml", "missing key 'values'"),
    ("name: x\nvalues: {a: fine\n", ".yaml", "not valid YAML"),
    ('{"name": "x", "values": {"a=b": "no"}}', ".json", "may not contain '='"),
    ('{"name": "x", "values": {"a": "ok"}, "multi": "yes"}', ".json", "'multi' must be true or false"),
    ('{"name": "x", "values": {"a": "ok"}', ".json", "not valid JSON"),
    ("- just a list\n", ".yml", "expected a mapping"),
    ("name: x", ".txt", "expected a .yaml, .yml or .json file"),
])
def test_bad_scheme_files_are_refused_clearly(tmp_path, text, suffix, message):
    from workbench import load_scheme

    path = tmp_path / f"scheme{suffix}"
    path.write_text(text)
    store = Store(tmp_path / "p.sqlite")
    with pytest.raises(WorkbenchDataError, match=message):
        store.add_scheme(path)
    assert list(store.schemes()) == ["subjectivity", "plurality", "distinguishability", "unreliability_source"]
    with pytest.raises(WorkbenchDataError, match="scheme file"):
        load_scheme(path)


def test_scheme_files_load_from_yaml_and_json(tmp_path):
    import json

    from workbench import load_scheme

    yaml_file = tmp_path / "sources.yaml"
    yaml_file.write_text(
        "name: disagreement_source\nmulti: true\ndescription: Why annotators differ.\n"
        "values:\n  task_underspecified: The prompt admits several readings.\n  style: Raters weigh style differently.\n"
    )
    scheme = load_scheme(yaml_file)
    assert scheme.multi and scheme.value_names == ("task_underspecified", "style")
    json_file = tmp_path / "sources.json"
    json_file.write_text(json.dumps(scheme.to_dict()))
    assert load_scheme(json_file) == scheme


def _tagged_store(path):
    store = Store(path)
    store.add_tag("demo-000001", "subjectivity", "manifest", tagger="ana")
    store.add_tag("demo-000002", "unreliability_source", "mislabeling", tagger="ana", note="clear typo")
    store.add_tag("demo-000002", "unreliability_source", "both_harmful", tagger="ben")
    store.remove_tag("demo-000002", "unreliability_source", "mislabeling", tagger="ana")
    return store


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_import_round_trip_is_idempotent(tmp_path, suffix):
    source = _tagged_store(tmp_path / "a.sqlite")
    exported = source.export_tags(tmp_path / f"tags{suffix}")
    target = Store(tmp_path / "b.sqlite")
    items = [f"demo-{k:06d}" for k in range(5)]
    assert target.import_tags(exported, items=items) == 4
    assert target.import_tags(exported, items=items) == 0  # the same file twice adds nothing
    columns = ["item_id", "scheme", "value", "action", "note", "tagger", "time"]
    assert target.tag_history()[columns].equals(source.tag_history()[columns])
    assert target.current_tags(per_tagger=True).drop(columns="id").equals(source.current_tags(per_tagger=True).drop(columns="id"))


def test_import_refuses_bad_rows_and_writes_nothing(tmp_path):
    import pandas as pd

    store = Store(tmp_path / "p.sqlite")
    good = {"item_id": "a", "scheme": "subjectivity", "value": "manifest", "tagger": "ana",
            "time": "2026-11-01T10:00:00+00:00", "note": ""}
    cases = [
        ({"item_id": "zzz"}, "item 'zzz' not in the study at row 1"),
        ({"scheme": "mood"}, "unknown scheme 'mood'.*at row 1"),
        ({"value": "obvious"}, "value 'obvious' not in scheme 'subjectivity' at row 1"),
        ({"time": "yesterday"}, "not an ISO date-time at row 1"),
        ({"tagger": ""}, "empty tagger at row 1"),
    ]
    for change, message in cases:
        path = tmp_path / "tags.csv"
        pd.DataFrame([good, {**good, **change}]).to_csv(path, index=False)
        with pytest.raises(WorkbenchDataError, match=message):
            store.import_tags(path, items=["a", "b"])
        assert store.tag_history().empty
    pd.DataFrame([good]).drop(columns="tagger").to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(WorkbenchDataError, match="lacks column 'tagger'"):
        store.import_tags(tmp_path / "short.csv")
