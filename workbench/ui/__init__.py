"""Panel components (param.Parameterized classes with ``__panel__``); no statistics of their own."""
