"""Reward models trained in the workbench on one's own pairs: raw labels, cleaned labels, or with the
disagreement margin of docs/METHODS.md, “Reward models against people”. pandas in, pandas out around :mod:`workbench.kernels.reward_training`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.ratings import Ratings
from ..errors import WorkbenchDataError, show
from .scoring import PAIR_COLUMNS, _text_column

CONFIG_NAME = "workbench_reward_model.json"
WEIGHTS_NAME = "model.safetensors"


def disagreement_margin(ratings) -> pd.Series:
    """Per pair, ``m = |Σ j − n/2| / (n/2)`` (docs/METHODS.md, “Reward models against people”): 1 when every judgement agrees, 0 when split evenly.

    ``Σ j`` counts judgements for A, a tie counting half (so ``m = |2 p_a − 1|``). Takes Ratings or a
    DataFrame of pairs with ``n_a, n_b`` (and optionally ``n_tie``). The margin is direction-free: a
    unanimous vote for B gives 1, as does one for A.

    >>> import pandas as pd, workbench
    >>> votes = pd.DataFrame({"n_a": [10, 5, 7, 3, 5], "n_b": [0, 5, 3, 7, 4]})
    >>> workbench.disagreement_margin(votes).round(4).tolist()
    [1.0, 0.0, 0.4, 0.4, 0.1111]
    """
    pairs = ratings.pairs() if isinstance(ratings, Ratings) else ratings
    if not isinstance(pairs, pd.DataFrame):
        raise WorkbenchDataError(f"disagreement_margin takes Ratings or a DataFrame with n_a, n_b; got {type(ratings).__name__}")
    missing = [c for c in ("n_a", "n_b") if c not in pairs.columns]
    if missing:
        raise WorkbenchDataError(f"disagreement_margin needs vote counts; missing column {missing[0]!r}")
    n_a = pairs["n_a"].astype(float)
    n_tie = pairs["n_tie"].astype(float) if "n_tie" in pairs.columns else 0.0
    n = n_a + pairs["n_b"].astype(float) + n_tie
    if (n <= 0).any():
        raise WorkbenchDataError(f"pair {pairs.index[(n <= 0).to_numpy()][0]!r} has no judgements")
    return ((n_a + n_tie / 2 - n / 2).abs() / (n / 2)).rename("margin")


def _training_pairs(data) -> pd.DataFrame:
    """Pairs with texts and a human preference ``p_a`` (from votes, a ``p_a`` column or an A/B ``label``)."""
    pairs = data.pairs() if isinstance(data, Ratings) else data
    if not isinstance(pairs, pd.DataFrame):
        raise WorkbenchDataError(f"train_reward_model takes Ratings or a DataFrame of pairs; got {type(data).__name__}")
    missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
    if missing:
        raise WorkbenchDataError(f"training pairs need columns {', '.join(PAIR_COLUMNS)}; missing {missing[0]!r}")
    if len(pairs) == 0:
        raise WorkbenchDataError("no pairs to train on")
    out = pairs.copy()
    if "n_a" in out.columns and "n_b" in out.columns:
        n_tie = out["n_tie"] if "n_tie" in out.columns else 0
        out["p_a"] = (out["n_a"] + n_tie / 2) / (out["n_a"] + out["n_b"] + n_tie)
    elif "p_a" not in out.columns:
        if "label" not in out.columns:
            raise WorkbenchDataError("training pairs need votes (n_a, n_b), a human p_a, or a label column of 'A'/'B'")
        bad = ~out["label"].isin(["A", "B"])
        if bad.any():
            raise WorkbenchDataError(f"column 'label' must be 'A' or 'B'; row {out.index[bad.to_numpy()][0]!r} has {out['label'][bad].iloc[0]!r}")
        out["p_a"] = (out["label"] == "A").astype(float)
    p = pd.to_numeric(out["p_a"], errors="coerce")
    if p.isna().any() or ((p < 0) | (p > 1)).any():
        row = out.index[(p.isna() | (p < 0) | (p > 1)).to_numpy()][0]
        raise WorkbenchDataError(f"p_a must be a share in [0, 1]; row {row!r} has {show(out.loc[row, 'p_a'])}")
    out["p_a"] = p
    return out


class RewardModel:
    """A reward model trained by :func:`train_reward_model`.

    ``score_pairs(pairs)`` gives ``score_a, score_b, p_a`` like :func:`workbench.score_pairs`;
    ``save(folder)`` writes a JSON config and safetensors weights (``load_reward_model`` reads them).
    Training facts: ``info`` (pairs used, human ties left out, margin, train accuracy) and ``loss_history_``.
    """

    def __init__(self, head, config: dict, info: dict, loss_history: list[float], encoder: Callable | None = None):
        self.head = head
        self.config = config
        self.info = info
        self.loss_history_ = loss_history
        self._encoder = encoder

    def __repr__(self) -> str:
        return f"RewardModel({self.config['name']!r}, encoder={self.config['encoder']!r}, trained on {self.info.get('pairs')} pairs)"

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def fingerprint(self) -> str:
        """sha256 (first 16 hex digits) of the config and weights."""
        digest = hashlib.sha256(json.dumps(self.config, sort_keys=True).encode())
        for key, tensor in sorted(self.head.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().numpy().tobytes())
        return digest.hexdigest()[:16]

    def features(self, prompts, responses):
        from ..kernels.reward_training import hashed_bags

        if self.config["encoder"] == "hashing":
            return hashed_bags([f"{p}\n{r}" for p, r in zip(prompts, responses)], self.config["n_features"])
        return _dense(self._encoder, [f"{p}\n{r}" for p, r in zip(prompts, responses)])

    def score_texts(self, prompts, responses) -> np.ndarray:
        """r(prompt, response) for each pair of texts (float64)."""
        from ..kernels.reward_training import rewards

        return rewards(self.head, self.features(list(prompts), list(responses)))

    def score_pairs(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """``score_a, score_b, p_a = σ(score_a − score_b)`` for each pair, indexed like ``pairs``."""
        if not isinstance(pairs, pd.DataFrame):
            raise WorkbenchDataError(f"pairs must be a DataFrame with columns {', '.join(PAIR_COLUMNS)}; got {type(pairs).__name__}")
        missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
        if missing:
            raise WorkbenchDataError(f"pairs need columns {', '.join(PAIR_COLUMNS)}; missing {missing[0]!r}")
        prompts = _text_column(pairs, "prompt")
        both = self.score_texts(prompts + prompts, _text_column(pairs, "response_a") + _text_column(pairs, "response_b"))
        out = pd.DataFrame({"score_a": both[: len(pairs)], "score_b": both[len(pairs):]}, index=pairs.index)
        out["p_a"] = 1.0 / (1.0 + np.exp(-(out["score_a"] - out["score_b"])))
        out.attrs["scoring"] = {"fingerprint": self.fingerprint, "texts": 2 * len(pairs), "truncated": 0, "model": self.name}
        return out

    def save(self, path) -> Path:
        """Write ``workbench_reward_model.json`` and ``model.safetensors`` into a folder; return it."""
        from safetensors.torch import save_file

        if self.config["encoder"] != "hashing":
            raise WorkbenchDataError("a model with a custom encoder cannot be saved (the encoder is code); save the hashing kind")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, folder / WEIGHTS_NAME)
        (folder / CONFIG_NAME).write_text(json.dumps({"config": self.config, "info": self.info}, indent=1, sort_keys=True))
        return folder


def _dense(encoder, texts) -> np.ndarray:
    matrix = np.asarray(encoder(texts), dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        raise WorkbenchDataError(f"the encoder must return one row per text ({len(texts)}); got shape {matrix.shape}")
    return matrix


def is_saved_reward_model(path) -> bool:
    """True for a folder written by :meth:`RewardModel.save`."""
    return (Path(path) / CONFIG_NAME).is_file()


def load_reward_model(path) -> RewardModel:
    """Read a folder written by :meth:`RewardModel.save` (safetensors weights; nothing is unpickled)."""
    from safetensors.torch import load_file

    from ..kernels.reward_training import RewardHead

    folder = Path(path)
    if not is_saved_reward_model(folder):
        raise WorkbenchDataError(f"{str(folder)!r} is not a saved workbench reward model (no {CONFIG_NAME})")
    saved = json.loads((folder / CONFIG_NAME).read_text())
    config = saved["config"]
    head = RewardHead(config["n_features"], config["hidden"])
    head.load_state_dict(load_file(folder / WEIGHTS_NAME))
    return RewardModel(head.eval(), config, saved.get("info", {}), [])


def train_reward_model(
    ratings_or_pairs,
    *,
    encoder="hashing",
    margin=None,
    hidden: int = 0,
    n_features: int = 1 << 16,
    epochs: int = 200,
    lr: float = 0.05,
    weight_decay: float = 1e-4,
    seed: int = 0,
    device="auto",
    name: str | None = None,
) -> RewardModel:
    """Train a small Bradley–Terry reward model on preference pairs.

    Each pair's chosen response is the human majority (pairs split evenly are left out and counted in
    ``info["ties_left_out"]``). The loss is ``−log σ(r_chosen − r_rejected − m)`` (docs/METHODS.md, “Reward models against people”).

    Parameters
    ----------
    ratings_or_pairs
        Ratings (its ``pairs()``; pass cleaned Ratings to train on cleaned labels) or a DataFrame with
        ``prompt, response_a, response_b`` and votes ``n_a, n_b`` (or ``p_a``, or a ``label`` of A/B).
    encoder
        ``"hashing"`` (default): a hashed bag of words and word pairs of ``prompt + response`` (no
        download). Or a callable ``texts -> array (texts × dim)``, e.g. a local sentence encoder.
    margin
        ``None`` (plain Bradley–Terry), ``"disagreement"`` (the margin ``m`` from the votes, see
        :func:`disagreement_margin`), a number, or a Series indexed like the pairs.
    hidden
        0 for a linear reward; else one hidden tanh layer of this width.
    epochs, lr, weight_decay, seed, device
        Full-batch Adam steps, its settings, the seed (results are deterministic for a seed on CPU)
        and ``"auto"``/``"cpu"``/``"cuda"``.

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=5, n_raters=30)
    >>> model = workbench.train_reward_model(study.ratings, margin="disagreement", epochs=100)
    >>> model.info["margin"], model.info["train_accuracy"] > 0.6
    ('disagreement', True)
    """
    from ..kernels.device import resolve_device
    from ..kernels.reward_training import fit_bradley_terry, hashed_bags

    pairs = _training_pairs(ratings_or_pairs)
    for label, value in (("epochs", epochs), ("n_features", n_features)):
        if int(value) != value or value < 1:
            raise WorkbenchDataError(f"{label} must be a positive whole number, got {value!r}")
    if int(hidden) != hidden or hidden < 0:
        raise WorkbenchDataError(f"hidden must be 0 (linear) or a positive width, got {hidden!r}")
    margins = _margins(margin, pairs)
    decided = (pairs["p_a"] != 0.5).to_numpy()
    used = pairs[decided]
    if len(used) == 0:
        raise WorkbenchDataError("every pair is split evenly: there is no preference to learn")
    prompts = _text_column(used, "prompt")
    texts_a = [f"{p}\n{r}" for p, r in zip(prompts, _text_column(used, "response_a"))]
    texts_b = [f"{p}\n{r}" for p, r in zip(prompts, _text_column(used, "response_b"))]
    distinct = pd.Index(pd.unique(np.asarray(texts_a + texts_b, dtype=object)))
    if encoder == "hashing":
        features, dense_dim = hashed_bags(list(distinct), int(n_features)), None
    elif callable(encoder):
        features = _dense(encoder, list(distinct))
        dense_dim = features.shape[1]
    else:
        raise WorkbenchDataError(f"encoder must be 'hashing' or a callable texts -> embeddings, got {encoder!r}")
    fit = fit_bradley_terry(
        features, distinct.get_indexer(texts_a), distinct.get_indexer(texts_b), (used["p_a"] > 0.5).to_numpy(),
        margins[decided], n_features=int(n_features) if dense_dim is None else dense_dim, hidden=int(hidden), epochs=int(epochs),
        lr=lr, weight_decay=weight_decay, seed=seed, device=resolve_device(device),
    )
    kind = "hashing" if encoder == "hashing" else getattr(encoder, "__name__", "custom")
    margin_name = margin if isinstance(margin, str) or margin is None else "given"
    config = {"name": name or f"bt-{kind}" + (f"-margin" if margin is not None else ""), "encoder": kind,
              "n_features": int(n_features) if dense_dim is None else dense_dim, "hidden": int(hidden)}
    info = {"pairs": int(len(used)), "ties_left_out": int((~decided).sum()), "margin": margin_name,
            "mean_margin": float(margins[decided].mean()), "epochs": int(epochs), "seed": seed,
            "train_accuracy": fit.train_accuracy, "final_loss": fit.loss_history[-1]}
    return RewardModel(fit.head.cpu(), config, info, fit.loss_history, encoder if callable(encoder) else None)


def _margins(margin, pairs: pd.DataFrame) -> np.ndarray:
    if margin is None:
        return np.zeros(len(pairs))
    if isinstance(margin, str):
        if margin != "disagreement":
            raise WorkbenchDataError(f"margin must be None, 'disagreement', a number or a Series; got {margin!r}")
        return disagreement_margin(pairs).to_numpy()
    if isinstance(margin, pd.Series):
        aligned = margin.reindex(pairs.index)
        if aligned.isna().any():
            raise WorkbenchDataError(f"the margin Series has no value for pair {pairs.index[aligned.isna().to_numpy()][0]!r}")
        return aligned.to_numpy(dtype=float)
    if isinstance(margin, (int, float)) and np.isfinite(margin) and margin >= 0:
        return np.full(len(pairs), float(margin))
    raise WorkbenchDataError(f"margin must be None, 'disagreement', a non-negative number or a Series; got {margin!r}")
