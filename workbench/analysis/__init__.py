"""The researcher's verbs: pandas in, pandas out (statistics live in ``kernels``)."""
