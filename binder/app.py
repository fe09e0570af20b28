"""The workbench app on the demo study, as a ``panel serve`` script.

Binder starts it on first visit to ``<binder url>/workbench/`` (jupyter-server-proxy, configured by
``binder/postBuild``); locally: ``panel serve binder/app.py`` (or simply ``workbench serve``).
"""

import panel as pn

import workbench
from workbench.ui.app import build_app

ratings = pn.state.as_cached("workbench-demo-study", lambda: workbench.simulate_study(seed=0).ratings)
build_app(ratings).servable(title="workbench")
