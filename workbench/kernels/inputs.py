"""Building kernels and their inputs from coded data: the plumbing every analysis module shares.

NumPy arrays of codes or values in, kernels and tensors out; no pandas.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import WorkbenchDataError, show
from .agreement import AlphaCategorical
from .device import to_tensor


def as_numbers(values: np.ndarray, level: str, what: str) -> np.ndarray:
    """``values`` as float64, or a WorkbenchDataError naming a non-numeric value (the ``level`` needs numbers).

    >>> as_numbers(np.array([1, 2], dtype=object), "ratio", "value_domain").tolist()
    [1.0, 2.0]
    """
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        odd = next(v for v in values if not isinstance(v, (int, float, np.number)))
        raise WorkbenchDataError(f"{what} holds non-numeric values such as {show(odd)}; the {level} level needs numbers") from None


def alpha_kernel(level: str, domain: np.ndarray, device) -> AlphaCategorical:
    """The categorical alpha kernel for ``level`` over ``domain`` (numbers needed for ratio only).

    >>> alpha_kernel("nominal", np.array(["a", "b"]), "cpu").n_values
    2
    """
    values = to_tensor(as_numbers(domain, level, "value_domain"), device=device) if level == "ratio" else None
    return AlphaCategorical(level, len(domain), values, device=device)


def moments_from_counts(counts: torch.Tensor, values: torch.Tensor, centre: float | None = None) -> torch.Tensor:
    """Per-item (count, sum, squared deviations) of centred values from an items × values count matrix.

    Values are centred on ``centre`` (default: their mean over ``counts``); give one fixed centre
    when moments of several blocks of items are summed.

    >>> moments_from_counts(torch.tensor([[1.0, 1.0]]), torch.tensor([0.0, 2.0])).tolist()
    [[2.0, 0.0, 2.0]]
    """
    m = counts.sum(dim=1)
    if centre is None:
        centre = (counts.sum(dim=0) @ values) / m.sum().clamp(min=1)
    v = values - centre
    total = counts @ v
    mean = total / m.clamp(min=1)
    squares = (counts * (v[None, :] - mean[:, None]) ** 2).sum(dim=1)
    return torch.stack([m, total, squares], dim=1)
