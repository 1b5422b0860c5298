"""Run the provider conformance suite against the checklist provider."""

from __future__ import annotations

from minimal_provider import ChecklistProvider

from landlord_workflow.testing._conformance import ProviderConformance, Scenarios

CHECKLIST_SCENARIOS = Scenarios(
    succeed={"steps": [{"name": "Prepare"}, {"name": "Finish", "set": {"result": {"ok": True}}}]},
    succeed_states=("Prepare", "Finish"),
    succeed_output_key="result",
    fail={"steps": [{"name": "Prepare"}, {"name": "Explode", "fail": "Tenant.Broken"}]},
    fail_state="Explode",
    fail_error="Tenant.Broken",
    slow={"steps": [{"name": "Hold", "sleep": 60}]},
    slow_seconds=60,
    invalid={"steps": [{"nmae": "typo"}]},
)


class TestChecklistConformance(ProviderConformance):
    provider_type = "checklist"
    scenarios = CHECKLIST_SCENARIOS

    def make_provider(self) -> ChecklistProvider:
        return ChecklistProvider()
