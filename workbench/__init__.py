"""workbench: study human label variation in LLM preference and safety data.

Every annotator's label is kept; aggregates are views. Heavy dependencies (torch, panel) load only
when a name that needs them is first used, so ``import workbench`` is quick.

>>> import workbench
>>> study = workbench.simulate_study(seed=0, n_items=50, ratings_per_item=4, n_raters=10)
>>> study.ratings.n_ratings
200
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "WorkbenchDataError": "workbench.errors",
    "Ratings": "workbench.data.ratings",
    "read_ratings": "workbench.data.io",
    "simulate_study": "workbench.data.simulate",
    "Study": "workbench.data.simulate",
    "Store": "workbench.data.store",
    "Scheme": "workbench.data.schemes",
    "load_scheme": "workbench.data.schemes",
    "with_tags": "workbench.analysis.tags",
    "tag_columns": "workbench.analysis.tags",
    "tag_queue": "workbench.analysis.tags",
    "tagger_agreement": "workbench.analysis.tags",
    "tag_conflicts": "workbench.analysis.tags",
    "Tagger": "workbench.ui.tagger",
    "krippendorff_alpha": "workbench.analysis.agreement",
    "cohen_kappa": "workbench.analysis.agreement",
    "fleiss_kappa": "workbench.analysis.agreement",
    "percent_agreement": "workbench.analysis.agreement",
    "reliability": "workbench.analysis.reliability",
    "rater_table": "workbench.analysis.raters",
    "item_table": "workbench.analysis.distributions",
    "jsd": "workbench.analysis.distributions",
    "entropy": "workbench.analysis.distributions",
    "committee_groups": "workbench.analysis.cleaning",
    "fit_attentiveness": "workbench.analysis.cleaning",
    "dawid_skene": "workbench.analysis.cleaning",
    "Recipe": "workbench.analysis.recipes",
    "recipe_effect": "workbench.analysis.recipes",
    "group_divergence": "workbench.analysis.divergence",
    "cross_reliability": "workbench.analysis.divergence",
    "convergence": "workbench.analysis.convergence",
    "sample_size": "workbench.analysis.convergence",
    "Overview": "workbench.ui.overview",
    "Cleaner": "workbench.ui.cleaner",
    "Explorer": "workbench.ui.explorer",
    "Workspace": "workbench.ui.workspace",
    "score_pairs": "workbench.analysis.scoring",
    "score_items": "workbench.analysis.scoring",
    "tiny_reward_model": "workbench.analysis.scoring",
    "train_reward_model": "workbench.analysis.reward_models",
    "disagreement_margin": "workbench.analysis.reward_models",
    "load_reward_model": "workbench.analysis.reward_models",
    "RewardModel": "workbench.analysis.reward_models",
    "compare_classifiers": "workbench.analysis.models",
    "compare_models": "workbench.analysis.models",
    "compare_two": "workbench.analysis.models",
    "calibration_table": "workbench.analysis.models",
    "soft_label_scores": "workbench.analysis.soft_labels",
    "perspectivist_scores": "workbench.analysis.soft_labels",
    "prior_baseline": "workbench.analysis.baselines",
    "majority_baseline": "workbench.analysis.baselines",
    "annotator_baseline": "workbench.analysis.baselines",
    "group_baseline": "workbench.analysis.baselines",
    "crossfit_baseline": "workbench.analysis.baselines",
    "ModelComparison": "workbench.ui.models",
    "extension": "workbench.ui.resources",
    "report": "workbench.ui.report",
}

__all__ = sorted(_EXPORTS) + ["datasets"]


def __getattr__(name: str):
    if name == "datasets":
        return importlib.import_module("workbench.datasets")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
