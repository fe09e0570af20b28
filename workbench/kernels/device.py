"""Device and dtype choice shared by every kernel."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import WorkbenchDataError


def resolve_device(device="auto") -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; anything else is passed to :class:`torch.device`."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise WorkbenchDataError(f"unknown device {device!r}: {err}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise WorkbenchDataError(f"device {device!r} was asked for but CUDA is not available here")
    return resolved


#: Agreement statistics are float64 on every device: CPU and CUDA give the same numbers (to ~1e-12).
DTYPE = torch.float64


def to_tensor(array, dtype=None, device=None) -> torch.Tensor:
    """``torch.as_tensor`` for NumPy/pandas data, copying read-only arrays (pandas copy-on-write views).

    Narrow integer arrays (the int32 codes a Ratings keeps) become int64, torch's index type,
    unless ``dtype`` says otherwise.

    >>> to_tensor(np.array([0, 2], dtype=np.int32)).dtype
    torch.int64
    """
    if isinstance(array, torch.Tensor):
        return array.to(dtype=dtype or array.dtype, device=device or array.device)
    array = np.asarray(array)
    if dtype is None and array.dtype.kind in "iu" and array.dtype.itemsize < 8:
        dtype = torch.int64
    if not array.flags.writeable:
        array = array.copy()
    return torch.as_tensor(array, dtype=dtype, device=device)
