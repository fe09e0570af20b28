"""Readers for the public multi-annotator data sets (see ``shared/data/DATA.md``)."""

from .data.datasets import READERS, read_chaosnli, read_convabuse, read_hh_pairs, read_multipico, read_squality
from .data.lewidi import lewidi_soft_labels, read_lewidi

__all__ = [
    "READERS", "lewidi_soft_labels", "read_chaosnli", "read_convabuse", "read_hh_pairs", "read_lewidi", "read_multipico",
    "read_squality",
]
