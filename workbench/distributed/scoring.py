"""Reward-model scoring on a Dask cluster: what ``score_pairs(..., client=client)`` runs.

The client validates the input, reads the score cache and splits the texts still to score into
chunks (neighbours by character length); each worker loads the checkpoint once (the
:class:`ScorerCache` worker plugin), sorts each chunk's texts by token length into batches and scores
them; the client puts the scores back in input order. The scores equal one process's up to float32
rounding (the batches differ, as with another ``batch_size``). A failed chunk cancels the rest and
raises, naming the chunk: never a partial answer; a worker that dies has its chunks rerun by Dask on
the others.

Models load from a local folder **on each worker**: a ``LocalCluster``'s workers share the client's
disk; on a real cluster the folder must be at the same path on every worker (a shared file system
or a copy per machine), with workbench installed there. Each worker checks the checkpoint's
fingerprint (config + weights + tokenizer) against the client's, so a different copy is refused.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict

import numpy as np
from distributed import Client, WorkerPlugin, as_completed, get_worker

from ..errors import WorkbenchDataError
from ..kernels.scoring import ScoringReport, SequenceScorer, resolve_dtype
from .source import announce_dashboard, dashboard_link

#: The name of the scorer cache plugin on every worker.
PLUGIN_NAME = "workbench-scorers"
#: A chunk (one task) holds at most this many batches' worth of texts.
MAX_BATCHES_PER_CHUNK = 64


class ScorerCache(WorkerPlugin):
    """Loaded scorers on one worker, keyed by (folder, fingerprint, device, dtype); the ``keep`` latest stay.

    Registered once per cluster (``idempotent``: registering again keeps the loaded models);
    ``loads`` counts checkpoint loads and ``texts`` the texts this worker scored.
    """

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self, keep: int = 2):
        self.keep = keep

    def setup(self, worker) -> None:
        self.scorers: OrderedDict = OrderedDict()
        self.loads = 0
        self.texts = 0
        self._lock = threading.Lock()  # two threads of one worker load a model once

    def teardown(self, worker) -> None:
        self.scorers.clear()

    def scorer(self, directory: str, fingerprint: str, device, dtype) -> SequenceScorer:
        key = (directory, fingerprint, str(device), str(dtype))
        with self._lock:
            if key in self.scorers:
                self.scorers.move_to_end(key)
                return self.scorers[key]
            scorer = SequenceScorer.from_checkpoint(directory, device=device, dtype=dtype)
            if scorer.fingerprint != fingerprint:
                raise WorkbenchDataError(
                    f"the checkpoint at {directory!r} on this worker differs from the client's (fingerprint "
                    f"{scorer.fingerprint}, client {fingerprint}): every worker needs the same files at that path"
                )
            scorer.load_model()
            self.loads += 1
            self.scorers[key] = scorer
            while len(self.scorers) > self.keep:
                self.scorers.popitem(last=False)
            return scorer


def _score_chunk(texts: list, directory: str, fingerprint: str, device, dtype, max_length: int, batch_size: int) -> dict:
    """Run on a worker: scores of one chunk of texts (batched by sorted token length) and what it took."""
    cache = get_worker().plugins.get(PLUGIN_NAME)
    if cache is None:
        raise RuntimeError(f"the {PLUGIN_NAME!r} plugin is not registered on this worker")
    scorer = cache.scorer(directory, fingerprint, device, dtype)
    encoded, truncated = scorer.encode(texts, max_length)
    report = ScoringReport()
    scores = scorer.score(encoded, batch_size=batch_size, report=report)
    with cache._lock:
        cache.texts += len(texts)
    return {"scores": scores, "truncated": int(truncated.sum()), "real_tokens": report.real_tokens,
            "padded_tokens": report.padded_tokens, "batches": report.batches, "device": str(scorer.device),
            "worker": get_worker().address}


def cluster_scorer(model, client, device, dtype) -> SequenceScorer:
    """The client's view of a checkpoint folder: tokenizer, config and fingerprint, no weights loaded.

    Everything that can be checked on the client is checked here, before anything is submitted.
    """
    import torch

    if not isinstance(client, Client):
        raise WorkbenchDataError(f"client must be a distributed.Client, got {type(client).__name__}")
    if not (isinstance(model, str) or hasattr(model, "__fspath__")):
        raise WorkbenchDataError(
            f"with client=, model must be a local checkpoint folder that every worker can read; got {type(model).__name__}"
        )
    if device not in (None, "auto"):
        try:
            parsed = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise WorkbenchDataError(f"unknown device {device!r}: {err}") from None
    else:
        parsed = torch.device("cuda")  # a worker may have one: float16 is checked there
    scorer = SequenceScorer.from_checkpoint(model, device="cpu")
    scorer.dtype = resolve_dtype(dtype, parsed)
    scorer.device = "auto" if device is None else device
    return scorer


def _chunks(texts: list, n_workers: int, batch_size: int) -> list[np.ndarray]:
    """Positions of ``texts`` in chunks of similar character length, longest first; several per worker."""
    per_chunk = max(batch_size, math.ceil(len(texts) / (4 * max(n_workers, 1))))
    per_chunk = min(per_chunk, batch_size * MAX_BATCHES_PER_CHUNK)
    chars = np.fromiter((sum(map(len, t)) if isinstance(t, tuple) else len(t) for t in texts), dtype=np.int64, count=len(texts))
    order = np.argsort(-chars, kind="stable")
    return [order[start : start + per_chunk] for start in range(0, len(order), per_chunk)]


def _chunk_failure(number: int, total: int, texts: list, err: BaseException) -> Exception:
    first = texts[0] if texts else ""
    preview = " / ".join(first) if isinstance(first, tuple) else first
    preview = preview if len(preview) <= 60 else preview[:57] + "..."
    message = (f"scoring chunk {number} of {total} ({len(texts)} texts, the first: {preview!r}) failed on the cluster: "
               f"{type(err).__name__}: {err}")
    return WorkbenchDataError(message) if isinstance(err, WorkbenchDataError) else RuntimeError(message)


def score_on_cluster(client: Client, scorer: SequenceScorer, texts: list, *, max_length: int, batch_size: int,
                     report: ScoringReport, progress=True) -> np.ndarray:
    """Scores (texts × outputs) of ``texts`` computed on ``client``'s workers; fills ``report``.

    ``progress``: True → Dask's progress bar (a widget in a notebook) and the dashboard link printed
    once; a callable → called with (texts done, total); False → silent.

    >>> import tempfile
    >>> from distributed import Client
    >>> from workbench.analysis.scoring import tiny_reward_model
    >>> from workbench.kernels.scoring import ScoringReport
    >>> client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None)
    >>> scorer = cluster_scorer(tiny_reward_model(tempfile.mkdtemp()), client, "auto", None)
    >>> score_on_cluster(client, scorer, ["plan meals", "lol"], max_length=32, batch_size=8,
    ...                  report=ScoringReport(), progress=False).shape
    (2, 1)
    >>> client.close()
    """
    n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    chunks = _chunks(texts, n_workers, batch_size)
    client.register_plugin(ScorerCache())
    link = announce_dashboard(client) if progress is True else dashboard_link(client)
    token = uuid.uuid4().hex[:8]
    chunk_texts = [[texts[i] for i in rows] for rows in chunks]
    futures = [
        client.submit(_score_chunk, part, str(scorer.directory), scorer.fingerprint, scorer.device, scorer.dtype,
                      max_length, batch_size, key=f"workbench-score-chunk-{token}-{k}", pure=False)
        for k, part in enumerate(chunk_texts)
    ]
    number = {future.key: k for k, future in enumerate(futures)}
    out = np.empty((len(texts), scorer.num_labels), dtype=np.float64)
    workers, devices, done = set(), set(), 0
    try:
        if progress is True:
            from distributed import progress as dask_progress

            dask_progress(futures)
        for future in as_completed(futures):
            k = number[future.key]
            if future.status != "finished":
                err = future.exception() if future.status == "error" else RuntimeError(f"the task was {future.status}")
                raise _chunk_failure(k + 1, len(futures), chunk_texts[k], err)
            result = future.result()
            out[chunks[k]] = result["scores"]
            for name in ("truncated", "real_tokens", "padded_tokens", "batches"):
                setattr(report, name, getattr(report, name) + result[name])
            workers.add(result["worker"])
            devices.add(result["device"])
            done += len(chunks[k])
            if callable(progress):
                progress(done, len(texts))
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
    report.device = ", ".join(sorted(devices))
    report.cluster = {"chunks": len(futures), "workers": len(workers), "dashboard": link}
    return out
