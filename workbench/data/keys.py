"""Stable 64-bit keys of identifiers: the same id gives the same key in any process, partition or order."""

from __future__ import annotations

import numpy as np
import pandas as pd


def stable_keys(ids) -> np.ndarray:
    """uint64 key of each identifier, hashed from its text (SipHash with pandas' fixed key).

    Keys depend on the id's value only — not on its position, partition or the other ids — so a
    counter-based bootstrap keyed by them draws the same weights however the data are split.

    >>> stable_keys(["q1", "q2"])[0] == stable_keys(["q0", "q1"])[1]
    np.True_
    """
    return pd.util.hash_array(np.asarray(ids, dtype=object).astype(str).astype(object), categorize=False)
