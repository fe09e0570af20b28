"""Readers for the public multi-annotator data sets (see ``shared/data/DATA.md``)."""

from .data.datasets import READERS, read_chaosnli, read_convabuse, read_hh_pairs, read_multipico, read_squality

__all__ = ["READERS", "read_chaosnli", "read_convabuse", "read_hh_pairs", "read_multipico", "read_squality"]
