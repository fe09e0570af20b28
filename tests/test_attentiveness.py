"""Attentiveness EM (methods.md M3, model R1) and Dawid–Skene: monotone objectives, recovery, identifiability."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

import workbench
from workbench import WorkbenchDataError
from workbench.kernels.em import fit_attentiveness_stats

F64 = torch.float64


def simulate_r1(rng, eta, n, mu):
    """Picks of the stronger model under R1: P = ½ + η(μ − ½), n comparisons per user."""
    return rng.binomial(n, 0.5 + eta * (mu - 0.5)).astype(float)


def fit_stats(n, s, mu, **kwargs):
    stats = {"n": torch.as_tensor(n, dtype=F64), "s": torch.as_tensor(s, dtype=F64)}
    return fit_attentiveness_stats(stats, torch.as_tensor(mu, dtype=F64), **kwargs)


def never_decreases(objective) -> bool:
    steps = np.diff(np.asarray(objective), axis=0)
    return bool((steps >= -1e-10 * np.abs(np.asarray(objective)[1:])).all())


def auc_margin(d_prime: float, n_pos: int, n_neg: int) -> float:
    """Expected AUC of two unit-variance normals d' apart, less 4 Hanley–McNeil standard errors."""
    auc = norm.cdf(d_prime / np.sqrt(2))
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg))
    return auc - 4 * se


# ---------------------------------------------------------------------- kernel, on R1 simulations
def test_objective_never_decreases_in_every_mode():
    rng = np.random.default_rng(0)
    eta = rng.beta(8, 2, size=200)
    n = np.full(200, 50.0)
    s = simulate_r1(rng, eta, 50, 0.7)
    for mu, estimate, prior in [(0.7, False, (8, 2)), (0.7, False, None), (0.8, True, (8, 2)), (0.6, True, None)]:
        fit, _ = fit_stats(n, s, mu, estimate_mu=estimate, prior_eta=prior, prior_mu=prior, max_iter=2000)
        assert never_decreases(fit.objective), (mu, estimate, prior)
        assert fit.n_iter > 2


def test_error_shrinks_as_comparisons_per_user_grow_batched():
    """M3 check: m = 200, n ∈ {10, 50, 200}, η ~ Beta(8, 2), μ = 0.7 known; one batched fit per estimator."""
    rng = np.random.default_rng(1)
    sizes = [10, 50, 200]
    replicates = 8
    eta = rng.beta(8, 2, size=(len(sizes), replicates, 200))
    n = np.broadcast_to(np.asarray(sizes, dtype=float)[:, None, None], eta.shape).copy()
    s = simulate_r1(rng, eta, n.astype(int), 0.7)
    mu = torch.full((len(sizes), replicates), 0.7, dtype=F64)
    for prior in (None, (8, 2)):
        fit, _ = fit_stats(n, s, mu, estimate_mu=False, prior_eta=prior, max_iter=1500, tol=1e-10)
        error = (fit.params["eta"].numpy() - eta).__abs__().mean(axis=(1, 2))
        assert error[0] > error[1] > error[2], (prior, error)
        assert never_decreases(fit.objective)
    # the batched fit equals fitting one entry alone
    alone, _ = fit_stats(n[1, 3], s[1, 3], 0.7, estimate_mu=False, prior_eta=(8, 2), max_iter=1500, tol=1e-10)
    assert torch.allclose(alone.params["eta"], fit.params["eta"][1, 3], atol=1e-12)


def test_mle_reaches_the_closed_form():
    rng = np.random.default_rng(2)
    eta = rng.uniform(0.05, 0.9, size=100)
    n = np.full(100, 80.0)
    s = simulate_r1(rng, eta, 80, 0.75)
    fit, _ = fit_stats(n, s, 0.75, estimate_mu=False, prior_eta=None, max_iter=5000, tol=0)
    closed = np.clip((s / n - 0.5) / 0.25, 0, 1)
    assert np.abs(fit.params["eta"].numpy() - closed).max() < 2e-3


def test_planted_random_users_are_caught():
    """70 % users with η = 0.95, 30 % with η = 0.05, μ = 0.7 known, flat prior, n = 50 (M3 checks)."""
    rng = np.random.default_rng(3)
    attentive = rng.random(400) < 0.7
    eta = np.where(attentive, 0.95, 0.05)
    s = simulate_r1(rng, eta, 50, 0.7)
    fit, _ = fit_stats(np.full(400, 50.0), s, 0.7, estimate_mu=False, prior_eta=None, max_iter=3000)
    estimate = fit.params["eta"].numpy()
    auc = roc_auc_score(attentive, estimate)
    # separation of the two groups' pick rates in binomial standard deviations
    d_prime = 0.9 * 0.2 / np.sqrt(0.25 / 50)
    assert auc >= auc_margin(d_prime, attentive.sum(), (~attentive).sum()), auc
    caught = estimate >= 0.5
    precision, recall = (caught & attentive).sum() / caught.sum(), (caught & attentive).sum() / attentive.sum()
    print(f"planted users, n=50: AUC {auc:.3f}, precision {precision:.3f}, recall {recall:.3f}")
    assert precision > 0.85 and recall > 0.85


def test_larger_fixed_mu_gives_lower_attentiveness():
    """Only η(2μ − 1) is identified: with μ known, the MLE scales as 1/(μ − ½)."""
    rng = np.random.default_rng(4)
    n = np.full(150, 100.0)
    s = simulate_r1(rng, rng.beta(4, 4, size=150), 100, 0.8)
    low, _ = fit_stats(n, s, 0.7, estimate_mu=False, prior_eta=None, max_iter=3000, tol=1e-13)
    high, _ = fit_stats(n, s, 0.9, estimate_mu=False, prior_eta=None, max_iter=3000, tol=1e-13)
    low, high = low.params["eta"].numpy(), high.params["eta"].numpy()
    assert (high <= low + 1e-9).all() and (high < low).mean() > 0.9
    interior = (low > 0.1) & (low < 0.8)
    assert np.allclose(high[interior], low[interior] * 0.2 / 0.4, atol=2e-3)
    with_prior = [fit_stats(n, s, mu, estimate_mu=False, max_iter=3000)[0].params["eta"].numpy() for mu in (0.7, 0.9)]
    assert (with_prior[1] < with_prior[0]).all()


def test_mu_free_without_priors_drifts_along_a_ridge():
    """Documents non-identifiability: different starts, different μ̂, the same likelihood and η(2μ − 1)."""
    rng = np.random.default_rng(5)
    eta = rng.beta(8, 2, size=200)
    n = np.full(200, 100.0)
    s = simulate_r1(rng, eta, 100, 0.7)
    fits = [fit_stats(n, s, start, estimate_mu=True, prior_eta=None, prior_mu=None, max_iter=3000)[0] for start in (0.62, 0.95)]
    mus = [float(f.params["mu"]) for f in fits]
    assert abs(mus[0] - mus[1]) > 0.05, mus
    objectives = [float(f.objective[-1]) for f in fits]
    assert abs(objectives[0] - objectives[1]) < 1e-3 * abs(objectives[0])
    identified = [f.params["eta"].numpy() * (2 * m - 1) for f, m in zip(fits, mus)]
    assert np.abs(identified[0] - identified[1]).max() < 0.02


# ---------------------------------------------------------------------- on the demo study's truth
def _attentive_pick_rate(study) -> pd.DataFrame:
    """Per rating: the probability an attentive rater picks the strong model (from the generator's truth)."""
    frame = study.ratings.to_frame()
    truth = study.truth["items"].loc[frame["item_id"]]
    young = (frame["age_band"] == "18-34").to_numpy()
    p_a = np.where(young, truth["p_a_young"], truth["p_a_older"])
    strong_on_a = (frame["model_a"] == "model-strong").to_numpy()
    return pd.DataFrame({"rater_id": frame["rater_id"].to_numpy(), "q": np.where(strong_on_a, p_a, 1 - p_a)})


def test_recovers_the_simulated_attentiveness_within_the_generators_margin():
    """η̂ of every user lies within 4.5 standard deviations of what the generator implies.

    simulate_study is not R1: an attentive rater picks the strong model with an item-dependent
    probability q_i. Per user, E[ȳ_j] = mean_i(½ + η_j(q_i − ½)) and Var(ȳ_j) = Σ p(1 − p)/n_j²; with μ set
    to the generator's mean q, the flat-prior EM should give clip((E ȳ_j − ½)/(μ − ½)) up to sampling error.
    """
    study = workbench.simulate_study(seed=1, n_items=8000, ratings_per_item=20, n_raters=40, mu=0.95)
    q = _attentive_pick_rate(study)
    eta = study.truth["raters"]["attentiveness"]
    mu = float(q["q"].mean())
    fit = workbench.fit_attentiveness(study.ratings, "model-strong", mu=mu, prior_eta=None, tol=0, max_iter=20000)
    p = 0.5 + eta.loc[q["rater_id"]].to_numpy() * (q["q"].to_numpy() - 0.5)
    per_user = pd.DataFrame({"rater_id": q["rater_id"], "p": p, "var": p * (1 - p)}).groupby("rater_id").agg(
        mean=("p", "mean"), var=("var", "sum"), n=("p", "size"))
    expected = np.clip((per_user["mean"] - 0.5) / (mu - 0.5), 0, 1)
    sd = np.sqrt(per_user["var"]) / per_user["n"] / (mu - 0.5)
    z = (fit.users["attentiveness"] - expected) / sd
    assert fit.users["n_comparisons"].equals(per_user["n"].rename("n_comparisons"))
    assert z.abs().max() < 4.5, z.abs().sort_values().tail()
    assert (z**2).mean() < 1.8  # chi-square(40)/40 stays below 1.8 with probability > 0.999
    assert sd.max() < 0.05  # the margin is tight enough to mean something
    assert np.corrcoef(fit.users["attentiveness"], eta)[0, 1] > 0.8


def test_demo_study_inattentive_users_are_flagged(demo):
    fit = workbench.fit_attentiveness(demo.ratings, "model-strong")
    truth = demo.truth["raters"]
    auc = roc_auc_score(~truth["inattentive"], fit.users["attentiveness"].loc[truth.index])
    q = _attentive_pick_rate(demo)
    gap = (truth.loc[~truth["inattentive"], "attentiveness"].mean() - truth.loc[truth["inattentive"], "attentiveness"].mean())
    d_prime = gap * (q["q"].mean() - 0.5) / np.sqrt(0.25 / fit.users["n_comparisons"].mean())
    print(f"demo study: AUC for the planted inattentive users {auc:.3f} (expected ≈ {norm.cdf(d_prime / np.sqrt(2)):.3f})")
    assert auc >= auc_margin(d_prime, (~truth["inattentive"]).sum(), truth["inattentive"].sum())
    assert never_decreases(fit.objective) and fit.converged and not fit.mu_fixed


# ---------------------------------------------------------------------- the analysis wrapper's edges
def test_mu_at_or_below_half_is_refused(demo):
    with pytest.raises(WorkbenchDataError, match=r"mu=1.5: μ must exceed ½"):  # a probability: above 1 is refused too
        workbench.fit_attentiveness(demo.ratings, "model-strong", mu=1.5)
    for mu in (0.5, 0.3):
        with pytest.raises(WorkbenchDataError, match="no asymmetry"):
            workbench.fit_attentiveness(demo.ratings, "model-strong", mu=mu)


def test_unknown_strong_model_and_missing_columns_are_named(demo):
    with pytest.raises(WorkbenchDataError, match="'gpt-9' is not in columns 'model_a'/'model_b'"):
        workbench.fit_attentiveness(demo.ratings, "gpt-9")
    plain = workbench.Ratings.from_frame(pd.DataFrame({"item_id": [1, 1], "rater_id": ["a", "b"], "label": ["A", "B"]}))
    with pytest.raises(WorkbenchDataError, match="missing column 'model_a'"):
        workbench.fit_attentiveness(plain, "x")
    with pytest.raises(WorkbenchDataError, match="prior_eta"):
        workbench.fit_attentiveness(demo.ratings, "model-strong", prior_eta=(0.5, 2))


def test_ties_and_other_items_are_left_out_and_counted():
    frame = pd.DataFrame({
        "item_id": ["i1", "i1", "i2", "i2", "i3", "i3"], "rater_id": ["a", "b", "a", "b", "a", "b"],
        "label": ["A", "tie", "B", "B", "A", "B"],
        "model_a": ["S", "S", "W", "W", "X", "X"], "model_b": ["W", "W", "S", "S", "Y", "Y"],
    })
    fit = workbench.fit_attentiveness(workbench.Ratings.from_frame(frame), "S", mu=0.8)
    assert fit.users["n_comparisons"].to_dict() == {"a": 2, "b": 1}
    assert fit.users["n_strong"].to_dict() == {"a": 2, "b": 1}
    assert fit.users["n_ties"].to_dict() == {"a": 0, "b": 1}
    assert (fit.n_ties, fit.n_left_out) == (1, 2)
    assert fit.users["few_comparisons"].all()


def test_a_rater_without_comparisons_gets_no_estimate():
    frame = pd.DataFrame({
        "item_id": ["i1", "i1", "i2", "i2", "i1", "i3"], "rater_id": ["a", "b", "a", "b", "c", "c"],
        "label": ["A", "B", "B", "A", "tie", "A"],
        "model_a": ["S", "S", "W", "W", "S", "X"], "model_b": ["W", "W", "S", "S", "W", "Y"],
    })
    users = workbench.fit_attentiveness(workbench.Ratings.from_frame(frame), "S", mu=0.8).users
    assert users.index.tolist() == ["a", "b", "c"]  # c, the last rater, only tied or rated items without S
    assert users["n_comparisons"].tolist() == [2, 2, 0] and users["n_ties"].tolist() == [0, 0, 1]
    assert users["attentiveness"].notna().tolist() == [True, True, False]
    assert users.loc["a", "attentiveness"] > users.loc["b", "attentiveness"]  # a always picked S, b never did


@pytest.mark.parametrize("prior_eta", [None, (8.0, 2.0)])
def test_sd_is_the_curvature_of_the_log_posterior(prior_eta):
    """sd = 1/√(−∂²/∂η_j² log posterior), the second derivative taken by autograd on ``objective``."""
    from workbench.kernels.em import Attentiveness

    model = Attentiveness(prior_eta=prior_eta, estimate_mu=False)
    stats = {"n": torch.tensor([10.0, 40.0, 25.0], dtype=torch.float64), "s": torch.tensor([9.0, 22.0, 5.0], dtype=torch.float64)}
    eta, mu = torch.tensor([0.9, 0.35, 0.6], dtype=torch.float64), torch.tensor(0.75, dtype=torch.float64)
    curvature = torch.autograd.functional.hessian(lambda e: model.objective({"eta": e, "mu": mu}, stats), eta).diagonal()
    expected = (-curvature).rsqrt()
    torch.testing.assert_close(model.sd({"eta": eta, "mu": mu}, stats), expected, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------- Dawid–Skene
def _three_class_ratings(seed=0, n_items=150, n_raters=8):
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n_items, p=[0.5, 0.3, 0.2])
    skill = rng.uniform(0.5, 0.9, size=n_raters)
    rows = []
    for i, t in enumerate(truth):
        for r in rng.choice(n_raters, size=4, replace=False):
            label = t if rng.random() < skill[r] else rng.integers(3)
            rows.append((f"t{i}", f"w{r}", ["low", "mid", "high"][label]))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")
def test_dawid_skene_matches_crowd_kit():
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    data = _three_class_ratings()
    ours = workbench.dawid_skene(workbench.Ratings.from_frame(data, item="task", rater="worker"), tol=0, max_iter=3000)
    theirs = crowdkit.DawidSkene(n_iter=5000, tol=1e-13).fit(data)
    posterior = theirs.probas_.reindex(index=ours.items.index, columns=ours.items.columns)
    assert np.abs(posterior.to_numpy() - ours.items.to_numpy()).max() < 1e-6
    assert np.abs(theirs.priors_.reindex(ours.priors.index).to_numpy() - ours.priors.to_numpy()).max() < 1e-6
    assert never_decreases(ours.objective) and ours.converged


def test_dawid_skene_recovers_confident_classes_and_confusions():
    data = _three_class_ratings(seed=1, n_items=300)
    fit = workbench.dawid_skene(workbench.Ratings.from_frame(data, item="task", rater="worker"))
    assert np.allclose(fit.items.sum(axis=1), 1) and np.allclose(fit.raters.sum(axis=1), 1)
    assert fit.raters.index.names == ["rater_id", "true"] and list(fit.raters.columns) == ["high", "low", "mid"]
    with pytest.raises(WorkbenchDataError, match="categorical labels"):
        workbench.dawid_skene(workbench.Ratings.from_matrix([[1.0, 2.0], [1.5, 2.5]], level="interval"))


def test_em_stops_at_the_first_relative_change_below_tol():
    """run_em on a toy model whose objective climbs 1000·(1 − 2⁻ᵏ): the stopping step from a plain loop."""
    from workbench.kernels.em import run_em

    class Halving:
        def step(self, params, stats):
            return {"x": params["x"] + (1000.0 - params["x"]) / 2}

        def objective(self, params, stats):
            return params["x"].clone()

    tol, x, steps = 1e-3, 1.0, 0
    while True:
        new, steps = x + (1000.0 - x) / 2, steps + 1
        if abs(new - x) <= tol * abs(x):
            break
        x = new
    result = run_em(Halving(), {}, {"x": torch.tensor(1.0, dtype=torch.float64)}, tol=tol, max_iter=100)
    assert result.n_iter == steps == 10 and bool(result.converged)
    assert run_em(Halving(), {}, {"x": torch.tensor(1.0, dtype=torch.float64)}, tol=tol, max_iter=4).n_iter == 4
