"""score_pairs(..., client=) on a two-process LocalCluster: the same scores as in this process, in input order."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.analysis.scoring import tiny_reward_model

pytest.importorskip("torch")
pytest.importorskip("transformers")
distributed = pytest.importorskip("distributed")

from workbench.distributed.scoring import PLUGIN_NAME, cluster_scorer, score_on_cluster  # noqa: E402
from workbench.kernels.scoring import ScoringReport  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_reward_model(tmp_path_factory.mktemp("tiny-rm"))


@pytest.fixture(scope="module")
def pairs():
    """40 pairs, shuffled so that input order is not the items' order."""
    return workbench.simulate_study(seed=1, n_items=40, ratings_per_item=3, n_raters=6).ratings.pairs().sample(frac=1, random_state=0)


def _worker_state(client):
    """Per worker: (checkpoint loads, texts scored) from the scorer-cache plugin; (0, 0) before it is registered."""
    def state(dask_worker):
        cache = dask_worker.plugins.get(PLUGIN_NAME)
        return (cache.loads, cache.texts) if cache is not None else (0, 0)

    return client.run(state)


def _texts_scored(client) -> int:
    return sum(texts for _, texts in _worker_state(client).values())


def test_cluster_scores_equal_local_scores_in_input_order(client, checkpoint, pairs):
    local = workbench.score_pairs(checkpoint, pairs, progress=False)
    spread = workbench.score_pairs(checkpoint, pairs, batch_size=8, client=client, progress=False)
    assert spread.index.equals(pairs.index) and list(spread.columns) == ["score_a", "score_b", "p_a"]
    np.testing.assert_allclose(spread.to_numpy(), local.to_numpy(), atol=1e-5, rtol=0)
    report = spread.attrs["scoring"]
    assert report["scored"] == report["unique_texts"] == local.attrs["scoring"]["unique_texts"]
    assert report["real_tokens"] == local.attrs["scoring"]["real_tokens"] and report["truncated"] == 0
    assert report["cluster"]["chunks"] >= 4 and report["device"] == "cpu" and report["cluster"]["dashboard"] is None
    items = workbench.score_items(checkpoint, ["plan meals ?", "lol", "here is a clear step by step answer ."], client=client, progress=False)
    np.testing.assert_allclose(items.to_numpy(), workbench.score_items(
        checkpoint, ["plan meals ?", "lol", "here is a clear step by step answer ."], progress=False).to_numpy(), atol=1e-5, rtol=0)


def test_each_worker_loads_the_model_once(client, checkpoint, pairs):
    for batch_size in (4, 8):
        workbench.score_pairs(checkpoint, pairs, batch_size=batch_size, client=client, progress=False)
    state = _worker_state(client)
    assert len(state) == 2
    assert all(loads == (1 if texts else 0) for loads, texts in state.values()), state
    assert sum(texts > 0 for _, texts in state.values()) == 2  # the chunks did spread over both workers


def test_cached_texts_are_not_sent_to_the_cluster(client, checkpoint, pairs, tmp_path):
    store = workbench.Store(tmp_path / "project.sqlite")
    before = _texts_scored(client)
    first = workbench.score_pairs(checkpoint, pairs, client=client, store=store, progress=False)
    unique = first.attrs["scoring"]["unique_texts"]
    assert _texts_scored(client) - before == unique
    grown = pd.concat([pairs, pairs.head(2).assign(response_a="a brand new answer .").rename(index=lambda i: i + "-new")])
    again = workbench.score_pairs(checkpoint, grown, client=client, store=store, progress=False)
    assert again.attrs["scoring"]["scored"] == 2 and _texts_scored(client) - before == unique + 2  # only the two new texts went out
    pd.testing.assert_frame_equal(again.loc[pairs.index], first)
    third = workbench.score_pairs(checkpoint, pairs, client=client, store=store, progress=False)
    assert third.attrs["scoring"]["cached"] == unique and _texts_scored(client) - before == unique + 2
    assert "cluster" not in third.attrs["scoring"]  # nothing was submitted at all


@pytest.mark.parametrize("problem, match", [
    ("missing_column", "missing 'response_b'"),
    ("not_text", "column 'prompt' must hold text"),
    ("loaded_pair", "model must be a local checkpoint folder that every worker can read"),
    ("no_folder", "not a local directory"),
    ("not_a_client", "client must be a distributed.Client"),
    ("batch_size", "batch_size"),
    ("device", "unknown device"),
])
def test_bad_input_is_refused_before_anything_is_submitted(client, checkpoint, pairs, monkeypatch, tmp_path, problem, match):
    model, frame, options = checkpoint, pairs, {"client": client}
    if problem == "missing_column":
        frame = pairs.drop(columns="response_b")
    elif problem == "not_text":
        frame = pairs.assign(prompt=[None] + pairs["prompt"].tolist()[1:])
    elif problem == "loaded_pair":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = (AutoModelForSequenceClassification.from_pretrained(checkpoint), AutoTokenizer.from_pretrained(checkpoint))
    elif problem == "no_folder":
        model = tmp_path / "nowhere"
    elif problem == "not_a_client":
        options["client"] = "tcp://127.0.0.1:8786"
    elif problem == "batch_size":
        options["batch_size"] = 0
    else:
        options["device"] = "tpu9"
    monkeypatch.setattr(distributed.Client, "submit", lambda *a, **k: pytest.fail("a task was submitted"))
    with pytest.raises(workbench.WorkbenchDataError, match=match):
        workbench.score_pairs(model, frame, progress=False, **options)


def test_a_worker_that_sees_another_checkpoint_fails_naming_the_chunk(client, checkpoint):
    scorer = cluster_scorer(checkpoint, client, "auto", None)
    scorer.fingerprint = "0" * 16  # as if the workers' copy of the folder differed from the client's
    with pytest.raises(workbench.WorkbenchDataError, match=r"scoring chunk \d of \d \(2 texts, the first: 'plan meals'\).*differs from the client's"):
        score_on_cluster(client, scorer, ["plan meals", "lol"], max_length=64, batch_size=8, report=ScoringReport(), progress=False)


def test_any_other_worker_exception_is_a_runtime_error_naming_the_chunk(client, checkpoint):
    scorer = cluster_scorer(checkpoint, client, "auto", None)
    with pytest.raises(RuntimeError, match=r"scoring chunk 1 of 1 \(2 texts.*failed on the cluster"):
        score_on_cluster(client, scorer, ["plan meals", ("lol",)], max_length=64, batch_size=8, report=ScoringReport(), progress=False)


def test_progress_callable_counts_texts(client, checkpoint, pairs):
    seen = []
    workbench.score_pairs(checkpoint, pairs.head(10), batch_size=4, client=client, progress=lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 2


def test_progress_bar_and_the_dashboard_link_printed_once(checkpoint, pairs, capsys):
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0") as local:
        for rows in (5, 10):
            workbench.score_pairs(checkpoint, pairs.head(rows), client=local, progress=True)
        captured = capsys.readouterr()
        printed = captured.out + captured.err
        assert printed.count(f"Dask dashboard at {local.dashboard_link}") == 1
        assert "100% Completed" in printed
