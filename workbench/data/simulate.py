"""The simulated demo study: pairwise preferences with a known generating truth.

Every later analysis has something to find here: subjectivity classes, a planted group split on
latent-projective items, inattentive users, a stronger and a weaker model behind randomised display
positions, response texts that carry learnable cues of quality, and a reward-model committee of
graded quality. The truth travels with the data (:attr:`Study.truth`) so tests can check recovery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..errors import WorkbenchDataError
from .ratings import Ratings

SUBJECTIVITY = ("manifest", "latent_pattern", "latent_projective")
AGE_BANDS = ("18-34", "35-54", "55+")
REGIONS = ("Americas", "Europe", "Asia-Pacific")
STRONG, WEAK = "model-strong", "model-weak"

_TOPICS = {
    "helpful": ["plan a week of meals", "write a cover letter", "learn basic Spanish", "fix a slow laptop",
                "start running", "explain compound interest", "organise a small wedding", "train a puppy"],
    "harmless": ["get back at a noisy neighbour", "pick a lock", "handle an angry coworker", "talk about a sensitive diagnosis",
                 "joke about a minority group", "bypass a paywall", "deal with online harassment", "buy medication online"],
}
_GOOD_CUES = ["Here is a clear, step-by-step answer.", "Specifically, start with the safest option.",
              "A careful approach works best:", "In short, and with sources:"]
_BAD_CUES = ["um, not sure, maybe just wing it.", "whatever, it does not really matter.",
             "lol just do anything.", "idk, someone online said so."]
_NEUTRAL = ["It depends on the situation.", "There are several ways to do this.", "Think about your goals first."]


@dataclass
class Study:
    """A simulated study: ``ratings`` (what a researcher sees), ``scores`` and the generating ``truth``.

    ``scores`` holds a reward-model committee's scores (``item_id, model, score_a, score_b``);
    ``truth`` is a dict of DataFrames: ``items`` (subjectivity class, plurality, distinguishability,
    the better model, the planted group split and each group's true P(A)), ``raters``
    (attentiveness η, inattentive flag), ``committee`` (each reward model's accuracy) and
    ``params`` (the generating parameters).
    """

    ratings: Ratings
    scores: pd.DataFrame
    truth: dict[str, pd.DataFrame] = field(repr=False)
    seed: int = 0

    def __repr__(self) -> str:
        return f"Study(seed={self.seed}, {self.ratings!r}, committee of {self.scores['model'].nunique()} reward models)"


def simulate_study(
    seed: int = 0,
    *,
    n_items: int = 2000,
    ratings_per_item: int = 20,
    n_raters: int = 200,
    inattentive_share: float = 0.1,
    mu: float = 0.7,
    planted_share: float = 0.5,
    committee_quality=(0.95, 0.88, 0.8, 0.7, 0.6),
) -> Study:
    """Simulate a pairwise-preference study (deterministic for a seed).

    Parameters
    ----------
    seed : int
        Random seed; the same seed gives the same study.
    n_items, ratings_per_item, n_raters : int
        Size. Each item is rated by ``ratings_per_item`` distinct raters drawn from ``n_raters``;
        raise ``n_items`` to reach millions of ratings for benchmarks.
    inattentive_share : float
        Share of raters who click at random most of the time (η ≤ 0.15); attentive η ~ Beta(8, 2).
    mu : float
        Probability that the stronger model's response is truly better (μ in docs/METHODS.md).
    planted_share : float
        Share of latent-projective items on which the youngest age band prefers the opposite response.
    committee_quality : sequence of float
        Each simulated reward model's probability of ranking the truly better response higher.

    Examples
    --------
    >>> import workbench
    >>> study = workbench.simulate_study(seed=0, n_items=100, ratings_per_item=5, n_raters=20)
    >>> study.ratings
    Ratings(100 items, 20 raters, 500 ratings, nominal, categories=('A', 'B'))
    >>> sorted(study.truth)
    ['committee', 'items', 'params', 'raters']
    """
    _check_size(n_items, ratings_per_item, n_raters, inattentive_share, mu, planted_share, committee_quality)
    rng = np.random.default_rng(seed)
    items = _simulate_items(rng, n_items, mu, planted_share)
    raters = _simulate_raters(rng, n_raters, inattentive_share)
    ratings = _simulate_ratings(rng, items, raters, ratings_per_item)
    scores, committee = _simulate_committee(rng, items, committee_quality)

    item_columns = ["prompt", "response_a", "response_b", "model_a", "model_b", "split", "topic"]
    rater_columns = ["age_band", "region", "attention_check"]
    ratings_obj = Ratings(
        ratings,
        items.set_index("item_id")[item_columns],
        raters.set_index("rater_id")[rater_columns],
        level="nominal",
        categories=("A", "B"),
        meta={"source": f"simulate_study(seed={seed})", "dataset": "demo study (simulated)", "duplicates_dropped": 0},
    )
    truth_items = items.drop(columns=item_columns).set_index("item_id")
    params = pd.DataFrame([{
        "seed": seed, "n_items": n_items, "ratings_per_item": ratings_per_item, "n_raters": n_raters,
        "inattentive_share": inattentive_share, "mu": mu, "planted_share": planted_share,
    }])
    truth = {"items": truth_items, "raters": raters.set_index("rater_id"), "committee": committee, "params": params}
    return Study(ratings_obj, scores, truth, seed)


def _check_size(n_items, ratings_per_item, n_raters, inattentive_share, mu, planted_share, committee_quality):
    for name, value in (("n_items", n_items), ("ratings_per_item", ratings_per_item), ("n_raters", n_raters)):
        if int(value) != value or value < 1:
            raise WorkbenchDataError(f"{name} must be a positive whole number, got {value!r}")
    if ratings_per_item > n_raters:
        raise WorkbenchDataError(f"ratings_per_item ({ratings_per_item}) cannot exceed n_raters ({n_raters}): raters are distinct per item")
    for name, value in (("inattentive_share", inattentive_share), ("planted_share", planted_share)):
        if not 0 <= value <= 1:
            raise WorkbenchDataError(f"{name} must lie in [0, 1], got {value!r}")
    if not 0.5 < mu <= 1:
        raise WorkbenchDataError(f"mu must lie in (0.5, 1] so the stronger model is identifiable, got {mu!r}")
    if len(committee_quality) == 0 or not all(0 < q < 1 for q in committee_quality):
        raise WorkbenchDataError(f"committee_quality needs accuracies strictly between 0 and 1, got {committee_quality!r}")


def _simulate_items(rng, n, mu, planted_share) -> pd.DataFrame:
    split = np.where(rng.random(n) < 0.6, "helpful", "harmless")
    subjectivity = np.asarray(SUBJECTIVITY)[rng.choice(3, size=n, p=[0.4, 0.3, 0.3])]
    multiple_p = np.select([subjectivity == "manifest", subjectivity == "latent_pattern"], [0.25, 0.6], 0.9)
    plurality = np.where(rng.random(n) < multiple_p, "multiple_correct", "single_correct")
    distinguishable = rng.random(n) >= 0.15
    better_is_strong = rng.random(n) < mu
    strong_on_a = rng.random(n) < 0.5
    better_on_a = better_is_strong == strong_on_a
    # How strongly an attentive rater prefers the better response, by class.
    base = np.select([subjectivity == "manifest", subjectivity == "latent_pattern"], [0.93, 0.78], 0.62)
    p_better = np.where(distinguishable, base, 0.5 + (base - 0.5) * 0.2)
    planted = (subjectivity == "latent_projective") & (rng.random(n) < planted_share)
    p_better_young = np.where(planted, 1 - 0.85, p_better)  # the youngest band prefers the other response
    p_better_older = np.where(planted, 0.85, p_better)
    topic_index = rng.integers(0, 8, size=n)
    topics = np.where(split == "helpful", np.asarray(_TOPICS["helpful"])[topic_index], np.asarray(_TOPICS["harmless"])[topic_index])
    prompts = pd.Series(np.asarray(["How do I ", "What is the best way to ", "Can you help me "])[rng.integers(0, 3, size=n)]) + topics + "?"
    good_text = _responses(rng, n, good=True)
    bad_text = _responses(rng, n, good=False)
    frame = pd.DataFrame({
        "item_id": [f"demo-{k:06d}" for k in range(n)],
        "prompt": prompts.to_numpy(),
        "response_a": np.where(better_on_a, good_text, bad_text),
        "response_b": np.where(better_on_a, bad_text, good_text),
        "model_a": np.where(strong_on_a, STRONG, WEAK),
        "model_b": np.where(strong_on_a, WEAK, STRONG),
        "split": split,
        "topic": topics,
        "subjectivity": subjectivity,
        "plurality": plurality,
        "distinguishability": np.where(distinguishable, "distinguishable", "indistinguishable"),
        "better_model": np.where(better_is_strong, STRONG, WEAK),
        "better_position": np.where(better_on_a, "A", "B"),
        "planted_split": planted,
        "p_better": p_better,
    })
    frame["p_a_young"] = np.where(better_on_a, p_better_young, 1 - p_better_young)
    frame["p_a_older"] = np.where(better_on_a, p_better_older, 1 - p_better_older)
    return frame


def _responses(rng, n, *, good: bool) -> np.ndarray:
    """Short texts whose wording carries the quality cue (so a small reward model can learn it)."""
    cues = np.asarray(_GOOD_CUES if good else _BAD_CUES)[rng.integers(0, 4, size=n)]
    neutral = np.asarray(_NEUTRAL)[rng.integers(0, 3, size=n)]
    has_cue = rng.random(n) < (0.8 if good else 0.7)
    first = np.where(has_cue, cues, neutral)
    second = np.asarray(_NEUTRAL)[rng.integers(0, 3, size=n)]
    return (pd.Series(first) + " " + pd.Series(second)).to_numpy()


def _simulate_raters(rng, n, inattentive_share) -> pd.DataFrame:
    inattentive = rng.random(n) < inattentive_share
    eta = np.where(inattentive, rng.uniform(0.0, 0.15, size=n), rng.beta(8, 2, size=n))
    return pd.DataFrame({
        "rater_id": [f"u{k:05d}" for k in range(n)],
        "age_band": np.asarray(AGE_BANDS)[rng.choice(3, size=n, p=[0.4, 0.35, 0.25])],
        "region": np.asarray(REGIONS)[rng.choice(3, size=n)],
        "attention_check": np.where(rng.random(n) < 0.3 + 0.7 * eta, "passed", "failed"),
        "attentiveness": eta,
        "inattentive": inattentive,
    })


def _assign_raters(rng, n_items, n_raters, per_item, chunk=50_000) -> np.ndarray:
    """Distinct raters per item: the ``per_item`` smallest of random keys, chunked to bound memory."""
    blocks = []
    for start in range(0, n_items, chunk):
        rows = min(chunk, n_items - start)
        keys = rng.random((rows, n_raters))
        blocks.append(np.argpartition(keys, per_item - 1, axis=1)[:, :per_item] if per_item < n_raters
                      else np.argsort(keys, axis=1))
    return np.concatenate(blocks).astype("int64")


def _simulate_ratings(rng, items, raters, per_item) -> pd.DataFrame:
    n_items = len(items)
    who = _assign_raters(rng, n_items, len(raters), per_item).ravel()
    item = np.repeat(np.arange(n_items), per_item)
    young = raters["age_band"].to_numpy()[who] == AGE_BANDS[0]
    p_a = np.where(young, items["p_a_young"].to_numpy()[item], items["p_a_older"].to_numpy()[item])
    attentive = rng.random(len(item)) < raters["attentiveness"].to_numpy()[who]
    choose_a = np.where(attentive, rng.random(len(item)) < p_a, rng.random(len(item)) < 0.5)
    return pd.DataFrame({
        "item_id": items["item_id"].to_numpy()[item],
        "rater_id": raters["rater_id"].to_numpy()[who],
        "label": np.where(choose_a, "A", "B"),
        "feedback_type": "pairwise",
    })


def _simulate_committee(rng, items, quality) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores with P(better response scored higher) = quality: a gap of √2·Φ⁻¹(q) over unit noise."""
    n = len(items)
    better_on_a = (items["better_position"] == "A").to_numpy()
    frames = []
    for k, q in enumerate(quality):
        gap = np.sqrt(2.0) * ndtri(q)
        noise_a, noise_b = rng.normal(size=n), rng.normal(size=n)
        frames.append(pd.DataFrame({
            "item_id": items["item_id"].to_numpy(),
            "model": f"rm-{k + 1}",
            "score_a": noise_a + np.where(better_on_a, gap, 0.0),
            "score_b": noise_b + np.where(better_on_a, 0.0, gap),
        }))
    committee = pd.DataFrame({"model": [f"rm-{k + 1}" for k in range(len(quality))], "quality": list(quality)})
    return pd.concat(frames, ignore_index=True), committee
