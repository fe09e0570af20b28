"""EM for annotator models on sufficient statistics: comparison-mode attentiveness and Dawid–Skene.

Both models run through one driver, :func:`run_em`: a model supplies ``init``, ``step`` (one E+M
step) and ``objective`` (the observed-data log-likelihood plus log-priors, which EM never lowers).
Parameters are tensors whose leading dimensions are a batch: several fits (simulations, slices)
run as one. Everything is float64 and device-agnostic; nothing here loops over users or labels.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from .device import DTYPE

#: η is kept inside [EPS, 1 - EPS] ("clip η to [1e-6, 1 − 1e-6]").
EPS = 1e-6


@dataclass
class EMResult:
    """What :func:`run_em` returns: the final parameters, the objective per iteration and convergence."""

    params: dict
    objective: torch.Tensor  # (iterations + 1, *batch): the value at the start, then after each step
    n_iter: int
    converged: torch.Tensor  # (*batch,) bool


def run_em(model, stats: dict, params: dict, *, tol: float = 1e-8, max_iter: int = 1000) -> EMResult:
    """Iterate ``model.step`` until the objective's relative change is below ``tol`` in every batch entry.

    A batch entry that has converged is frozen (its parameters stop changing), so a batched fit
    gives the same numbers as fitting each entry alone.
    """
    with _few_threads_when_small(stats):
        current = model.objective(params, stats)
        history = [current]
        done = torch.zeros_like(current, dtype=torch.bool)
        n_iter = 0
        while n_iter < max_iter and not bool(done.all()):
            proposal = model.step(params, stats)
            value = model.objective(proposal, stats)
            params = {k: _keep_where(done, params[k], proposal[k]) for k in params}
            value = torch.where(done, current, value)
            done = done | ((value - current).abs() <= tol * current.abs().clamp_min(1e-300))
            current = value
            history.append(current)
            n_iter += 1
    return EMResult(params, torch.stack(history), n_iter, done)


#: Below this many elements per tensor, CPU EM steps run on one thread: torch parallelises log()
#: over a few thousand elements, and the thread hand-off then costs more than the work (20x slower
#: per iteration when the cores are busy, measured on the 2-core machine of benchmarks/RESULTS.md).
SMALL = 1 << 16


@contextmanager
def _few_threads_when_small(stats: dict):
    tensors = [t for t in stats.values() if isinstance(t, torch.Tensor)]
    small = all(t.device.type == "cpu" and t.numel() < SMALL for t in tensors)
    before = torch.get_num_threads()
    if small and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small and before > 1:
            torch.set_num_threads(before)


def _keep_where(done: torch.Tensor, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    mask = done.reshape(done.shape + (1,) * (old.dim() - done.dim()))
    return torch.where(mask, old, new)


# ---------------------------------------------------------------------- attentiveness
def comparison_stats(user: torch.Tensor, picked_strong: torch.Tensor, n_users: int) -> dict:
    """Per-user sufficient statistics: ``n`` comparisons and ``s`` picks of the stronger model."""
    n = torch.bincount(user, minlength=n_users).to(DTYPE)
    s = torch.bincount(user, weights=picked_strong.to(DTYPE), minlength=n_users)
    return {"n": n, "s": s}


def random_start(shape, seed: int, device=None) -> torch.Tensor:
    """Starting η drawn uniformly in [0.05, 0.95] from a seeded CPU generator (same start on any device)."""
    generator = torch.Generator().manual_seed(int(seed))
    return (0.05 + 0.9 * torch.rand(shape, generator=generator, dtype=DTYPE)).to(device)


def _log_beta_kernel(x: torch.Tensor, prior) -> torch.Tensor:
    if prior is None:
        return torch.zeros_like(x)
    a, b = prior
    return (a - 1) * torch.log(x) + (b - 1) * torch.log1p(-x)


@dataclass
class Attentiveness:
    """The comparison-mode model of docs/METHODS.md (“Cleaning”) — our reconstruction, not the paper's confirmed model.

    Each comparison is attentive with probability η_j; an attentive user picks the stronger model
    with probability μ, an inattentive one at random: ``P(pick strong) = ½ + η_j (μ − ½)``.
    Priors ``η_j ~ Beta(prior_eta)`` and, when μ is estimated, ``μ ~ Beta(prior_mu)`` (``None``:
    flat); both default to Beta(8, 2) [PAPER: the appendix's regulariser; whether it applies to η,
    μ or both is UNCONFIRMED]. ``estimate_mu=False`` is the paper's "Knowing μ" variant.

    Parameters are ``eta`` (*batch, users) and ``mu`` (*batch); statistics ``n`` and ``s`` have the
    shape of ``eta``. A replacement model only needs ``init``, ``step``, ``objective`` and ``sd``.
    """

    prior_eta: tuple | None = (8.0, 2.0)
    prior_mu: tuple | None = (8.0, 2.0)
    estimate_mu: bool = True
    names: tuple = field(default=("eta", "mu"), repr=False)

    def init(self, stats: dict, mu: torch.Tensor, eta: torch.Tensor | None = None) -> dict:
        if eta is None:
            eta = torch.full_like(stats["n"], 0.5)  # "Init η_j = 0.5"
        return {"eta": eta.clamp(EPS, 1 - EPS), "mu": mu.to(stats["n"])}

    def step(self, params: dict, stats: dict) -> dict:
        eta, mu = params["eta"], params["mu"].unsqueeze(-1)
        n, s = stats["n"], stats["s"]
        p_strong = 0.5 + eta * (mu - 0.5)
        # E-step: posterior that a comparison was attentive, for picks of the strong (1) and weak (0) model
        attentive_1 = eta * mu / p_strong
        attentive_0 = eta * (1 - mu) / (1 - p_strong)
        attentive = s * attentive_1 + (n - s) * attentive_0
        a, b = self.prior_eta or (1.0, 1.0)
        new_eta = ((attentive + a - 1) / (n + a + b - 2)).clamp(EPS, 1 - EPS)
        new_mu = params["mu"]
        if self.estimate_mu:
            a_mu, b_mu = self.prior_mu or (1.0, 1.0)
            picked = (s * attentive_1).sum(-1)
            new_mu = ((picked + a_mu - 1) / (attentive.sum(-1) + a_mu + b_mu - 2)).clamp(EPS, 1 - EPS)
        return {"eta": new_eta, "mu": new_mu}

    def objective(self, params: dict, stats: dict) -> torch.Tensor:
        eta, mu = params["eta"], params["mu"]
        p_strong = 0.5 + eta * (mu.unsqueeze(-1) - 0.5)
        n, s = stats["n"], stats["s"]
        value = (s * torch.log(p_strong) + (n - s) * torch.log1p(-p_strong) + _log_beta_kernel(eta, self.prior_eta)).sum(-1)
        if self.estimate_mu:
            value = value + _log_beta_kernel(mu, self.prior_mu)
        return value

    def sd(self, params: dict, stats: dict) -> torch.Tensor:
        """Laplace standard error of each η̂_j: 1/√(−∂² log posterior/∂η_j²), μ held at its estimate [DERIVED]."""
        eta, d = params["eta"], params["mu"].unsqueeze(-1) - 0.5
        n, s = stats["n"], stats["s"]
        info = s * d**2 / (0.5 + eta * d) ** 2 + (n - s) * d**2 / (0.5 - eta * d) ** 2
        if self.prior_eta is not None:
            a, b = self.prior_eta
            info = info + (a - 1) / eta**2 + (b - 1) / (1 - eta) ** 2
        return torch.where(info > 0, info.rsqrt(), torch.full_like(info, float("nan")))


def fit_attentiveness_stats(
    stats: dict,
    mu: torch.Tensor,
    *,
    estimate_mu: bool,
    prior_eta=(8.0, 2.0),
    prior_mu=(8.0, 2.0),
    eta: torch.Tensor | None = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    model_class=Attentiveness,
) -> tuple[EMResult, torch.Tensor]:
    """Fit model R1 (or a drop-in ``model_class``) on per-user statistics; returns the EM result and η̂'s sd.

    ``mu`` is the fixed value (``estimate_mu=False``) or the starting value; its shape is the batch.

    >>> n = torch.tensor([50.0, 50.0], dtype=torch.float64); s = torch.tensor([33.0, 20.0], dtype=torch.float64)
    >>> fit, sd = fit_attentiveness_stats({"n": n, "s": s}, torch.tensor(0.7, dtype=torch.float64),
    ...                                   estimate_mu=False, prior_eta=None, tol=1e-12)
    >>> [round(v, 3) for v in fit.params["eta"].tolist()]  # the closed form clip((ȳ − ½)/(μ − ½), 0, 1)
    [0.8, 0.0]
    """
    model = model_class(prior_eta=prior_eta, prior_mu=prior_mu, estimate_mu=estimate_mu)
    result = run_em(model, stats, model.init(stats, mu, eta), tol=tol, max_iter=max_iter)
    return result, model.sd(result.params, stats)


# ---------------------------------------------------------------------- Dawid–Skene
@dataclass
class DawidSkene:
    """Dawid & Skene (1979): a true class per item, a confusion matrix per rater, class priors.

    Statistics: ``item`` and ``cell`` (``rater · K + label``) per rating, int64. Parameters:
    ``prior`` (K,), ``confusion`` (raters, K true, K observed), ``posterior`` (items, K: the
    E-step that produced them) and ``log_joint`` (items, K: log π_k + Σ log θ under the current
    parameters, so each iteration scatters over the ratings twice, not three times). Zero cells
    are floored at ``floor`` before normalising, as crowd-kit does, so logs stay finite.
    """

    n_items: int
    n_raters: int
    n_classes: int
    floor: float = 1e-10

    def init(self, stats: dict) -> dict:
        """Start from each item's label shares (the soft majority vote), then one M-step."""
        label = stats["cell"] % self.n_classes
        shares = self._scatter_items(torch.nn.functional.one_hot(label, self.n_classes).to(DTYPE), stats)
        return self._m_step(shares / shares.sum(-1, keepdim=True), stats)

    def _scatter_items(self, rows: torch.Tensor, stats: dict) -> torch.Tensor:
        out = torch.zeros(self.n_items, self.n_classes, dtype=DTYPE, device=rows.device)
        return out.index_add_(0, stats["item"], rows)

    def _m_step(self, posterior: torch.Tensor, stats: dict) -> dict:
        k = self.n_classes
        counts = torch.zeros(self.n_raters * k, k, dtype=DTYPE, device=posterior.device)
        counts.index_add_(0, stats["cell"], posterior.index_select(0, stats["item"]))  # [rater·observed, true]
        counts = counts.clamp_min(self.floor)
        log_confusion = counts.log() - counts.view(self.n_raters, k, k).sum(1).log().repeat_interleave(k, dim=0)
        prior = posterior.mean(0)
        log_joint = prior.clamp_min(self.floor).log() + self._scatter_items(log_confusion.index_select(0, stats["cell"]), stats)
        confusion = log_confusion.exp().view(self.n_raters, k, k).transpose(1, 2)  # [rater, true, observed]
        return {"prior": prior, "confusion": confusion, "posterior": posterior, "log_joint": log_joint}

    def step(self, params: dict, stats: dict) -> dict:
        return self._m_step(torch.softmax(params["log_joint"], dim=-1), stats)

    def objective(self, params: dict, stats: dict) -> torch.Tensor:
        """Observed-data log-likelihood Σ_i log Σ_k π_k Π_r θ_r[k, label]."""
        return torch.logsumexp(params["log_joint"], dim=-1).sum()


def fit_dawid_skene(item, rater, label, *, n_items: int, n_raters: int, n_classes: int,
                    tol: float = 1e-8, max_iter: int = 1000) -> EMResult:
    """Dawid–Skene by EM on coded ratings; ``params["posterior"]`` holds each item's class posterior.

    >>> item = torch.tensor([0, 0, 0, 1, 1, 1]); rater = torch.tensor([0, 1, 2, 0, 1, 2])
    >>> fit = fit_dawid_skene(item, rater, torch.tensor([1, 1, 0, 0, 0, 0]), n_items=2, n_raters=3, n_classes=2)
    >>> fit.params["posterior"].argmax(-1).tolist()
    [1, 0]
    """
    model = DawidSkene(n_items, n_raters, n_classes)
    stats = {"item": item, "cell": rater * n_classes + label}
    return run_em(model, stats, model.init(stats), tol=tol, max_iter=max_iter)
