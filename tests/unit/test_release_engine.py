"""The release engine's decisions that need no cluster, table by table."""

from types import SimpleNamespace

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.blue_green_engine import (
    other_release_refusal,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.canary_engine import measurement_delay
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_engine import (
    StrategyRun,
    checked_metrics,
    plural,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_lock import process_ancestors
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_task import run_release
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rolling_engine import (
    recorded_update_refusal,
    rolling_update,
    serving,
)


@pytest.mark.parametrize("kind, resource", [
    ("Service", "services"), ("Deployment", "deployments"), ("Ingress", "ingresses"),
    ("PodDisruptionBudget", "poddisruptionbudgets"), ("HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ("VirtualService", "virtualservices"), ("HTTPRoute", "httproutes"), ("Route", "routes"), ("Job", "jobs"),
    ("NetworkPolicy", "networkpolicies"),
])
def test_each_kind_a_release_applies_has_the_resource_name_the_api_server_gives_it(kind, resource):
    assert plural(kind) == resource


@pytest.mark.parametrize("last, now, delay", [
    (None, 100.0, 5.0),      # nothing measured yet in this run: a whole interval
    (98.0, 100.0, 3.0),      # measured 2 s ago: the rest of the interval
    (90.0, 100.0, 0.0),      # an interval or more ago: at once
    (100.0, 100.0, 5.0),     # just measured: a whole interval
])
def test_the_background_analysis_measures_one_interval_after_its_last_measurement(last, now, delay):
    assert measurement_delay(5, last, now) == delay


@pytest.mark.parametrize("record, refusal", [
    ({}, None),
    ({"phase": "promoted", "version": "1.0.0"}, None),
    ({"phase": "aborted", "version": "1.0.0"}, None),
    ({"phase": "paused", "version": "1.1.0"}, None),  # its own paused release: promote goes on with it
    ({"phase": "progressing", "version": "1.1.0"}, None),  # its own interrupted release: resumed
    ({"phase": "paused", "version": "1.0.0"},
     "shop 1.0.0 is paused awaiting promotion; run playbooks/promote.yml or playbooks/abort.yml before releasing 1.1.0."),
    ({"phase": "progressing", "version": "1.0.0"},
     "shop 1.0.0 is progressing in another run (live, or interrupted); run the release of 1.0.0 again to finish "
     "it, or playbooks/abort.yml before releasing 1.1.0."),
])
def test_a_blue_green_release_is_refused_while_another_versions_is_paused_or_unfinished(record, refusal):
    assert other_release_refusal("shop", record, "1.1.0") == refusal


def test_metrics_get_metric_gates_defaults_and_a_bad_one_is_named():
    metrics = checked_metrics("canary_steps[1].analysis.metrics", [{"name": "errors", "query": "vector(0)"}])
    # on_nan is left to the evaluator: Failed for a query, Error for a built-in template.
    assert metrics[0]["consecutive_error_limit"] == 4 and metrics[0]["on_nan"] is None
    with pytest.raises(ModuleFailure, match=r"canary_steps\[1\].analysis.metrics: .*count"):
        checked_metrics("canary_steps[1].analysis.metrics", [{"name": "errors", "count": "many"}])


class Refused(Exception):
    pass


def refuse(msg):
    raise Refused(msg)


@pytest.mark.parametrize("strategy", ["canary", "blue_green"])
def test_the_rollback_action_is_refused_for_a_strategy_that_goes_back_by_a_run(strategy):
    module = SimpleNamespace(params={"action": "rollback", "strategy": strategy, "version": None}, fail=refuse)
    with pytest.raises(Refused, match="action rollback is for strategy rolling: a %s application goes back by "
                                      r"releasing its earlier version without gates \(playbooks/rollback.yml\)" % strategy):
        run_release(module)


ANALYSIS = {"window": "10s", "interval": 2, "count": 3, "initial_delay": 8}


@pytest.mark.parametrize("name, interval, expected", [
    # A gate's templates: measured, and measured again while no request arrives, at the analysis's interval.
    ("pre-promotion", None, {"interval": 2.0, "count": 3, "initial_delay": 8.0}),
    # The canary's background analysis: at its own interval.
    ("background", 5, {"interval": 5.0, "count": 3, "initial_delay": 8.0}),
])
def test_a_gates_templates_measure_the_new_version_and_wait_for_its_requests_at_the_interval(name, interval, expected):
    run = SimpleNamespace(params={"analysis": ANALYSIS}, namespace="shop", version="1.1.0")
    metrics = StrategyRun.template_metrics(run, ["app_success_rate", "app_latency_p99"], name, "web-preview", interval)
    assert [metric["name"] for metric in metrics] == ["app_success_rate-" + name, "app_latency_p99-" + name]
    for metric in metrics:
        assert metric["template_args"] == {"namespace": "shop", "service": "web-preview", "version": "1.1.0",
                                           "window": "10s"}
        assert dict((key, metric[key]) for key in expected) == expected


@pytest.mark.parametrize("max_surge, max_unavailable, sizes", [
    ("25%", "25%", {"maxSurge": "25%", "maxUnavailable": "25%"}),
    (1, 0, {"maxSurge": 1, "maxUnavailable": 0}),
    ("2", "0%", {"maxSurge": 2, "maxUnavailable": "0%"}),  # a count given as text is a count
    (0, "100%", {"maxSurge": 0, "maxUnavailable": "100%"}),
])
def test_a_rolling_update_takes_counts_and_percentages_as_kubernetes_does(max_surge, max_unavailable, sizes):
    assert rolling_update(max_surge, max_unavailable) == {"type": "RollingUpdate", "rollingUpdate": sizes}


@pytest.mark.parametrize("max_surge, max_unavailable, named", [
    ("25 percent", "25%", "rolling_max_surge"),
    ("25%", -1, "rolling_max_unavailable"),
    ("25%", "1.5", "rolling_max_unavailable"),
    (True, "25%", "rolling_max_surge"),
    ("", "25%", "rolling_max_surge"),
    (0, "0%", "rolling_max_surge and rolling_max_unavailable cannot both be 0"),
])
def test_sizes_kubernetes_would_refuse_are_named_before_anything_changes(max_surge, max_unavailable, named):
    with pytest.raises(ModuleFailure, match="^" + named):
        rolling_update(max_surge, max_unavailable)


@pytest.mark.parametrize("deployment, expected", [
    (None, None),
    ({"metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}},
      "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/version": "1.1.0"}},
                            "spec": {"containers": [{"image": "shop:1.1.0"}, {"image": "proxy:3"}]}}}},
     {"version": "1.1.0", "image": "shop:1.1.0", "revision": "2"}),
    # Created but never rolled out by the Deployment controller, unlabelled.
    ({"metadata": {}, "spec": {"template": {"spec": {"containers": [{"image": "shop:1.1.0"}]}}}},
     {"version": "", "image": "shop:1.1.0", "revision": ""}),
])
def test_what_a_deployment_runs_is_its_templates_version_and_first_image(deployment, expected):
    assert serving(deployment) == expected


PLAYBOOK = b"/venv/bin/python3\0/venv/bin/ansible-playbook\0site.yml\0"


def write_stat(proc, pid, ppid, start, cmdline=b"/bin/sh\0-c\0python3 AnsiballZ_release.py\0"):
    (proc / str(pid)).mkdir(exist_ok=True)
    # The command may hold spaces and parentheses; the fields after the last ")" are what counts.
    (proc / str(pid) / "stat").write_text("%d (ansible (worker)) S %d %s\n" % (
        pid, ppid, " ".join(["0"] * 17 + [str(start)] + ["0"] * 10)))
    (proc / str(pid) / "cmdline").write_bytes(cmdline)


def a_task_of_a_run(proc):
    """module (this process) <- sh 30 <- worker 20 <- ansible-playbook 10 <- bash 5 <- sshd 4"""
    write_stat(proc, 30, 20, 300)
    write_stat(proc, 20, 10, 200, PLAYBOOK)
    write_stat(proc, 10, 5, 100, PLAYBOOK)
    write_stat(proc, 5, 4, 50, b"-bash\0")
    write_stat(proc, 4, 1, 40, b"sshd: root@pts/0\0")


def test_the_ancestors_of_a_task_go_up_to_its_run_and_change_when_the_run_dies(tmp_path, monkeypatch):
    monkeypatch.setattr("os.getppid", lambda: 30)
    a_task_of_a_run(tmp_path)
    alive = process_ancestors(str(tmp_path))
    assert alive == [(30, "300"), (20, "200"), (10, "100")]
    write_stat(tmp_path, 20, 1, 200, PLAYBOOK)  # the worker, reparented once ansible-playbook is gone
    assert process_ancestors(str(tmp_path)) != alive


def test_the_shell_that_started_a_run_may_exit_without_stopping_its_tasks(tmp_path, monkeypatch):
    monkeypatch.setattr("os.getppid", lambda: 30)
    a_task_of_a_run(tmp_path)
    alive = process_ancestors(str(tmp_path))
    write_stat(tmp_path, 10, 1, 100, PLAYBOOK)  # ansible-playbook, reparented once the shell is gone
    assert process_ancestors(str(tmp_path)) == alive


def test_outside_an_ansible_run_every_ancestor_is_watched(tmp_path, monkeypatch):
    monkeypatch.setattr("os.getppid", lambda: 30)
    write_stat(tmp_path, 30, 20, 300)
    write_stat(tmp_path, 20, 1, 200, b"python3\0runner.py\0")
    assert process_ancestors(str(tmp_path)) == [(30, "300"), (20, "200")]


def test_without_proc_there_are_no_ancestors_to_watch(tmp_path, monkeypatch):
    monkeypatch.setattr("os.getppid", lambda: 30)
    assert process_ancestors(str(tmp_path / "none")) == []


@pytest.mark.parametrize("record, running, action, refusal", [
    # Killed mid-rollout or with its gate pending: the Deployment runs the update, so it is finished...
    ({"strategy": "rolling", "phase": "progressing", "version": "1.1.0"}, {"version": "1.1.0"}, "promote", None),
    # ...or undone, whatever the Deployment runs.
    ({"strategy": "rolling", "phase": "progressing", "version": "1.1.0"}, {"version": "1.0.0"}, "abort", None),
    ({"strategy": "rolling", "phase": "progressing", "version": "1.1.0"}, None, "abort", None),
    # Killed after it recorded the update but before the Deployment had it: only a run has its objects.
    ({"strategy": "rolling", "phase": "progressing", "version": "1.1.0"}, {"version": "1.0.0"}, "promote",
     "shop 1.1.0 never reached its Deployment, which runs 1.0.0; run playbooks/rolling.yml -e release_version=1.1.0 "
     "again, or playbooks/abort.yml."),
    ({"strategy": "rolling", "phase": "progressing", "version": "1.1.0"}, None, "promote",
     "shop 1.1.0 never reached its Deployment, which runs nothing; run playbooks/rolling.yml -e release_version=1.1.0 "
     "again, or playbooks/abort.yml."),
    # Ended: said so, whatever runs.
    ({"strategy": "rolling", "phase": "promoted", "version": "1.1.0"}, {"version": "1.1.0"}, "promote",
     "shop has no rolling update to promote (the last release is promoted)."),
])
def test_a_rolling_update_left_unfinished_is_promoted_once_its_deployment_has_it_and_aborted_anyway(
        record, running, action, refusal):
    assert recorded_update_refusal("shop", record, running, action) == refusal
