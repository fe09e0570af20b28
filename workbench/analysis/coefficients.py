"""The coefficients beyond alpha in ``reliability()``: which kernel each metric name uses, and its inputs.

Names (``reliability(metric=...)``): ``fleiss``, ``scott_pi``, ``gwet_ac1``, ``gwet_ac2``,
``brennan_prediger``, ``conger_kappa`` (categorical, optionally with agreement ``weights``) and
``icc`` (numeric ratings, one ``form``). Formulas: :mod:`workbench.kernels.coefficients`.
"""

from __future__ import annotations

import numpy as np

from ..errors import WorkbenchDataError
from ..kernels.agreement import category_counts, sparse_counts
from ..kernels.coefficients import ICC_ALIASES, ICC_FORMS, WEIGHTS, CongerKappa, IntraclassCorrelation, KappaFamily
from ..kernels.device import DTYPE, to_tensor

#: The kappa family: metric name → chance-agreement rule.
KAPPA_FAMILY = {"fleiss": "fleiss", "scott_pi": "scott", "gwet_ac1": "gwet", "gwet_ac2": "gwet", "brennan_prediger": "brennan_prediger"}
COEFFICIENTS = (*KAPPA_FAMILY, "conger_kappa", "icc")
#: Metrics that take agreement weights (gwet_ac2 defaults to quadratic; gwet_ac1 is AC2 with identity weights).
WEIGHTED = ("cohen", "fleiss", "scott_pi", "gwet_ac2", "brennan_prediger", "conger_kappa")


def check_options(metric: str, weights, form, ratings, by, resample) -> tuple[str | None, str | None]:
    """Validated (weights, form) for ``metric``; WorkbenchDataError naming the wrong option otherwise."""
    if weights is not None and metric not in WEIGHTED:
        raise WorkbenchDataError(f"weights apply to {', '.join(WEIGHTED)}; {metric} takes none")
    if weights not in (None, *WEIGHTS):
        raise WorkbenchDataError(f"weights must be one of {', '.join(WEIGHTS)} (or None), got {weights!r}")
    if metric == "gwet_ac2" and weights is None:
        weights = "quadratic"
    if weights == "identity" and metric != "gwet_ac2":
        weights = None
    if metric == "conger_kappa" and resample == "raters":
        raise WorkbenchDataError("resample='raters' is not offered for Conger's kappa (a drawn copy of a rater is not a new rater); use resample='items'")
    if metric != "icc":
        if form is not None:
            raise WorkbenchDataError(f"form applies to metric='icc' only, not {metric}")
        return weights, None
    form = ICC_ALIASES.get(form or "ICC(A,1)", form or "ICC(A,1)")
    if form not in ICC_FORMS:
        raise WorkbenchDataError(f"unknown ICC form {form!r}; choose one of {', '.join(ICC_FORMS)} (or {', '.join(ICC_ALIASES)})")
    if not ratings.has_raters:
        ratings._need_raters("the intraclass correlation")
    if by is not None and by in ratings.raters.columns:
        raise WorkbenchDataError("the intraclass correlation cannot be sliced by a rater column (each slice would leave items incomplete)")
    if resample == "raters":
        raise WorkbenchDataError("resample='raters' is not offered for the ICC (its two-way forms treat raters as fixed columns); use resample='items'")
    return None, form


def label(metric: str, weights: str | None, form: str | None) -> str:
    """The metric as shown in the output: ``gwet_ac2 (quadratic weights)``, ``icc ICC(A,1)``."""
    if form:
        return f"icc {form}"
    return f"{metric} ({weights} weights)" if weights else metric


def kernel(metric: str, n_categories: int, n_raters: int | None, weights: str | None, form: str | None, device):
    if metric in KAPPA_FAMILY:
        return KappaFamily(n_categories, KAPPA_FAMILY[metric], weights, device=device)
    if metric == "conger_kappa":
        if n_raters is None:
            raise WorkbenchDataError("Conger's kappa needs rater-level ratings (each rater's own label shares); this data set has counts only")
        return CongerKappa(n_categories, n_raters, weights, device=device)
    return IntraclassCorrelation(n_raters, form)


def inputs(coded, kernel, device, weight=None) -> tuple:
    """Per-row inputs for the Conger and ICC kernels (the kappa family takes counts, as alpha does)."""
    row = to_tensor(coded.row, device=device)
    code = to_tensor(coded.code, device=device)
    q = len(coded.domain)
    if isinstance(kernel, CongerKappa):
        rater = to_tensor(coded.rater, device=device)
        return category_counts(row, code, coded.n_rows, q), sparse_counts(row, rater * q + code, coded.n_rows, kernel.n_raters * q)
    values = np.full((coded.n_rows, kernel.n_raters), np.nan)
    values[coded.row, coded.rater] = np.asarray(coded.domain, dtype=np.float64)[coded.code]
    incomplete = np.isnan(values).any(axis=1)
    if incomplete.any():
        raise WorkbenchDataError(
            f"the intraclass correlation needs every item rated by every rater; {int(incomplete.sum())} of {coded.n_rows} items "
            f"miss ratings from some of the {kernel.n_raters} raters (subset to a complete block with ratings.subset(items=..., raters=...))"
        )
    return (to_tensor(values - values.mean(), dtype=DTYPE, device=device),)  # centred: the ANOVA sums stay small
