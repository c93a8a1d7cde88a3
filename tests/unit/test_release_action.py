"""The release task's result: one run's, from its calls of the engine."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.action.release import merged

STARTED = {"changed": True, "ended": False, "cursor": {"next": "step"}, "progress": "started 1.1.0",
           "events": [{"event": "started"}], "waited": {"pauses": 0.0, "gates": 0.0, "rollouts": 2.5},
           "invocation": {"module_args": {}}}
PAUSED = {"changed": False, "ended": False, "cursor": {"next": "promote"}, "progress": "step 0: pause 4s",
          "events": [], "waited": {"pauses": 4.0, "gates": 0.0, "rollouts": 0.0}, "warnings": ["slow"]}
PROMOTED = {"changed": True, "ended": True, "cursor": {}, "progress": "promoted 1.1.0",
            "events": [{"event": "promoted"}], "waited": {"pauses": 0.0, "gates": 1.25, "rollouts": 1.0}}
FAILED = {"failed": True, "msg": "the step 1 analysis ended Failed", "pending": "abort", "cursor": {"next": "step"},
          "ended": True, "progress": "failed: the step 1 analysis ended Failed", "events": [{"event": "aborted"}],
          "waited": {"pauses": 0.0, "gates": 6.0, "rollouts": 0.0}}
REFUSED = {"failed": True, "msg": "missing required arguments: app"}


@pytest.mark.parametrize("calls, expected", [
    ([STARTED, PAUSED, PROMOTED],
     {"changed": True, "ended": True, "cursor": {}, "progress": "promoted 1.1.0",
      "steps": ["started 1.1.0", "step 0: pause 4s", "promoted 1.1.0"],
      "events": [{"event": "started"}, {"event": "promoted"}],
      "waited": {"pauses": 4.0, "gates": 1.25, "rollouts": 3.5}, "warnings": ["slow"]}),
    ([STARTED, FAILED],
     {"changed": True, "failed": True, "msg": "the step 1 analysis ended Failed", "pending": "abort", "ended": True,
      "cursor": {"next": "step"}, "progress": "failed: the step 1 analysis ended Failed",
      "steps": ["started 1.1.0", "failed: the step 1 analysis ended Failed"],
      "events": [{"event": "started"}, {"event": "aborted"}], "waited": {"pauses": 0.0, "gates": 6.0, "rollouts": 2.5}}),
    ([REFUSED],
     {"changed": False, "failed": True, "msg": "missing required arguments: app", "steps": [], "events": [],
      "waited": {}}),
])
def test_the_task_reports_the_run_its_calls_made(calls, expected):
    assert merged(calls) == expected
