"""Panel components (param.Parameterized classes with ``__panel__``); no statistics of their own.

Importing this package makes Panel's notebook output offline (:func:`workbench.ui.resources.configure`).
"""

from .resources import configure as _configure

_configure()
