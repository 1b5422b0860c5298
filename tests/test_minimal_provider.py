"""The provider guide's minimal provider passes the conformance suite.

``docs/workflow-providers.md`` includes ``docs/examples/minimal_provider.py``
and ``docs/examples/test_checklist_conformance.py``; this module runs that very
test class, so the guide cannot drift from what passes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "docs" / "examples"))

from test_checklist_conformance import TestChecklistConformance

__all__ = ["TestChecklistConformance"]
