"""Interrupted releases: ansible-playbook and all its processes are SIGKILLed at seeded random points of
blue-green and canary releases and rolling updates on the real cluster. After each kill, every
Service and route that sends traffic must send it only to backends with ready endpoints; then a
re-run of the same playbook (which must end promoted) or playbooks/abort.yml (which must end
aborted - a rolling update rolled back - traffic on the old version) must bring the release to a
consistent end: the record saying which, the lock gone.

PD_KILL_SEED picks the kill points and recoveries (printed, so a failing series can be replayed: the
draws are the same for the same seed; where a kill lands depends on the machine's speed too);
PD_KILL_TRIALS is the number of kills of blue-green and of canary releases, 15 each (30 in all)
unless set. Each strategy's kills run as tests of their own (its series), each in its own
namespace, so that parallel workers share them. Rolling updates are killed a seventh as often
(2 by default), each at a random moment of the engine's calls, where all their states are: a
kill before them only finds the update not begun, at the price of a whole re-run."""

import collections
import json
import operator
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import REPO, ansible_env, kill_tree

# A series runs about a dozen releases end to end; on a loaded machine that takes a long while.
pytestmark = pytest.mark.timeout(3600)

APP = "modelcard-generator"
SEED = int(os.environ.get("PD_KILL_SEED", "20261126"))
KILLS = int(os.environ.get("PD_KILL_TRIALS", "15"))
SERIES = 3
ROLLING_KILLS = KILLS // 7
# A re-run used as a recovery is itself killed this often (at most twice in a row).
KILL_RERUN_CHANCE = 0.3
# Seconds after a task starts before the kill: mid-task as well as between tasks.
KILL_DELAY = (0.0, 2.0)
# The task of the release engine's calls, in which a rolling update is killed.
ENGINE_TASK = "Release the application, each step shown as it ends"
# Endpoint readiness may lag the objects by a moment; longer than this is a violation.
ENDPOINT_PROPAGATION = 8

# Tiny gates (one measurement after two scrapes), a 10 s lock, and rollout bounds short enough that
# a lock held around a rollout wait of a killed run expires within a minute.
COMMON = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_gate_interval": 2,
          "pd_pod_annotations_by_version": {}}
BLUE_GREEN = dict(COMMON, pd_blue_green_lock_ttl=10, pd_scale_down_delay_seconds=3,
                  blue_green_rollout_timeout=30)
CANARY = dict(COMMON, pd_canary_lock_ttl=10, pd_canary_router="gateway_api", pd_canary_background_analysis={},
              # Each kind of step once, and a second weight after the analysis: more steps would only
              # repeat the same tasks, and every task makes each of the dozen releases longer.
              pd_canary_steps=[{"set_weight": 20}, {"analysis": {"templates": ["app_success_rate"]}},
                               {"set_weight": 60}],
              canary_rollout_timeout=30)
ROLLING = dict(COMMON, pd_rolling_lock_ttl=10, rolling_rollout_timeout=30)


class Strategy:
    """What a strategy's kills share unless it says otherwise: how many, in how many series, whether
    only in the engine's task (else after any task), the phase abort.yml ends in, and users'
    traffic through the Service named after the application (a blue-green preview takes test
    traffic only)."""
    kills, series, in_engine = KILLS, SERIES, False
    aborted = "aborted"

    @staticmethod
    def serving_services(api_client, namespace):
        return [APP]


class BlueGreen(Strategy):
    name = "blue-green"
    playbook = "blue_green.yml"
    variables = BLUE_GREEN

    @staticmethod
    def serving_version(api_client, namespace):
        """The version that takes all users' traffic: the color (or canary slot) its Service selects."""
        color = client.CoreV1Api(api_client).read_namespaced_service(APP, namespace).spec.selector[
            "terragonlabs.io/color"]
        return deployment_version(api_client, namespace, f"{APP}-{color}")


class Canary(Strategy):
    name = "canary"
    playbook = "canary.yml"
    variables = CANARY

    @staticmethod
    def backends(api_client, namespace):
        """{Service: weight} over the HTTPRoute's rules."""
        route = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", namespace, "httproutes", APP)
        weights = collections.Counter()
        for rule in route["spec"].get("rules", []):
            for ref in rule.get("backendRefs", []):
                weights[ref["name"]] += ref.get("weight", 1)
        return weights

    @classmethod
    def serving_services(cls, api_client, namespace):
        return sorted(name for name, weight in cls.backends(api_client, namespace).items() if weight > 0)

    @classmethod
    def serving_version(cls, api_client, namespace):
        if cls.backends(api_client, namespace).get(f"{APP}-canary", 0) > 0:
            return None  # split between two versions
        return BlueGreen.serving_version(api_client, namespace)  # the slot the stable Service selects


class Rolling(Strategy):
    name = "rolling"
    playbook = "rolling.yml"
    variables = ROLLING
    kills, series, in_engine = ROLLING_KILLS, 1, True
    aborted = "rolled_back"

    @staticmethod
    def serving_version(api_client, namespace):
        """The version all of the Deployment's pods run, or None while the rollout mixes two."""
        deployment = client.AppsV1Api(api_client).read_namespaced_deployment(APP, namespace)
        if (deployment.status.updated_replicas, deployment.status.replicas) != (deployment.spec.replicas,) * 2:
            return None
        return deployment.spec.template.metadata.labels["app.kubernetes.io/version"]


def deployment_version(api_client, namespace, name):
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace)
    return deployment.metadata.labels["app.kubernetes.io/version"]


def record(api_client, namespace):
    try:
        data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    except ApiException as error:
        if error.status == 404:
            return {}
        raise
    return json.loads(data["release.json"])


def leases(api_client, namespace):
    return [lease.metadata.name for lease in client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items]


def services(api_client, namespace):
    return [service.metadata.name for service in client.CoreV1Api(api_client).list_namespaced_service(namespace).items]


def ready_endpoints(api_client, namespace, service):
    slices = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}").items
    return sum(1 for s in slices for e in (s.endpoints or []) if e.conditions and e.conditions.ready)


def traffic_violations(strategy, api_client, namespace):
    """Services that take traffic with no ready endpoint, after ENDPOINT_PROPAGATION seconds."""
    deadline = time.monotonic() + ENDPOINT_PROPAGATION
    while True:
        try:
            empty = [s for s in strategy.serving_services(api_client, namespace)
                     if not ready_endpoints(api_client, namespace, s)]
        except ApiException as error:
            empty = [f"cannot read the traffic objects: {error.status} {error.reason}"]
        if not empty or time.monotonic() > deadline:
            return [f"traffic sent to {s} with no ready endpoint" for s in empty]
        time.sleep(1)


def ansible_playbook(strategy, namespace, playbook, **extra):
    variables = dict(strategy.variables, pd_namespace=namespace, **extra)
    return [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
            f"playbooks/{playbook}", "-e", json.dumps(variables)]


def run(cluster, command, kill_after=None, delay=0.0):
    """Runs ansible-playbook; with kill_after, SIGKILLs it and all its processes `delay` seconds
    after the kill_after-th task starts. Returns (killed, tasks started, last task started, exit code,
    [(each task started, when)])."""
    process = subprocess.Popen(command, cwd=REPO, env=dict(ansible_env(cluster), PYTHONUNBUFFERED="1"),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    tasks, last, output, starts = 0, None, [], []
    try:
        for line in process.stdout:
            output.append(line)
            if line.startswith("TASK ["):
                tasks, last = tasks + 1, line[len("TASK ["):].split("] ")[0]
                starts.append((last, time.monotonic()))
                if tasks == kill_after:
                    time.sleep(delay)
                    if process.poll() is None:
                        kill_tree(process.pid)
                        process.wait()
                        return True, tasks, last, -signal.SIGKILL, starts
        return False, tasks, last, process.wait(), starts
    finally:
        if process.poll() is None:
            kill_tree(process.pid)
            process.wait()
        process.stdout.close()
        if process.returncode not in (0, -signal.SIGKILL):
            print("".join(output[-60:]))


def settle(cluster, strategy, namespace, version):
    """An uninterrupted release that must succeed; returns (tasks it started, seconds it took, the
    engine's task's number and seconds)."""
    started = time.monotonic()
    _killed, tasks, _last, code, starts = run(
        cluster, ansible_playbook(strategy, namespace, strategy.playbook, release_version=version))
    assert code == 0, f"the uninterrupted release of {version} failed"
    ended = time.monotonic()
    engine = next(index for index, (name, _at) in enumerate(starts) if ENGINE_TASK in name)
    engine_ended = starts[engine + 1][1] if engine + 1 < len(starts) else ended
    return tasks, ended - started, (engine + 1, engine_ended - starts[engine][1])


def end_violations(strategy, api_client, namespace, version, phase, serving):
    """What is inconsistent once a recovery has run: the record, the lock, where traffic goes."""
    found = traffic_violations(strategy, api_client, namespace)
    current = record(api_client, namespace)
    if (current.get("version"), current.get("phase")) != (version, phase):
        found.append(f"record says {current.get('version')} {current.get('phase')}, not {version} {phase}")
    if leases(api_client, namespace):
        found.append(f"lock left behind: {leases(api_client, namespace)}")
    actual = strategy.serving_version(api_client, namespace)
    if actual != serving:
        found.append(f"traffic on {actual or 'two versions'}, not wholly on {serving}")
    return found


def series_kills(strategy, series):
    """This series' share of the strategy's kills: the first ones take the remainder."""
    return strategy.kills // strategy.series + (1 if series < strategy.kills % strategy.series else 0)


def kill_trials(strategy, series, cluster, api_client, namespace):
    rng = random.Random(f"{SEED}-{strategy.name}-{series}")
    name = f"{strategy.name} series {series}"
    kill_count = series_kills(strategy, series)
    if not kill_count:
        pytest.skip(f"PD_KILL_TRIALS={KILLS} leaves no kill to {name}")
    print(f"\n{name}: PD_KILL_SEED={SEED}, {kill_count} kills")
    started = time.monotonic()
    settle(cluster, strategy, namespace, "2.0.0")
    tasks, seconds, (engine_task, engine_seconds) = settle(cluster, strategy, namespace, "2.0.1")
    print(f"{name}: an uninterrupted release starts {tasks} tasks in {seconds:.0f} s, "
          f"{engine_seconds:.0f} s of it in the engine's task")
    stable, kills, releases = "2.0.1", 0, 0
    phases, recoveries, violations = collections.Counter(), collections.Counter(), []

    while kills < kill_count:
        releases += 1
        version = f"2.1.{releases}"
        release = ansible_playbook(strategy, namespace, strategy.playbook, release_version=version)
        chained = 0
        while True:
            # Every trial draws the same numbers in the same order, whatever the trials before it met,
            # so a seed replays the same kill points and choices.
            kill_after, delay = rng.randint(1, tasks - 1), rng.uniform(*KILL_DELAY)
            if strategy.in_engine:
                kill_after, delay = engine_task, rng.uniform(0.0, engine_seconds)
            prefers_abort, chain_draw = rng.random() < 0.5, rng.random()
            killed, task, code = operator.itemgetter(0, 2, 3)(run(cluster, release, kill_after, delay))
            if not killed:  # it ended before the kill point: the run itself is the recovery
                recoveries["finished before its kill point"] += 1
                outcome = ("promoted", version, code)
                break
            kills += 1
            current = record(api_client, namespace)
            ours = current.get("version") == version
            phase = f"{current.get('phase')} at {current.get('step')}" if ours else "before the record"
            phases[phase] += 1
            print(f"kill {kills}: {version} after task {kill_after} [{task}] +{delay:.1f}s; record: {phase}")
            violations += [f"kill {kills} ({version}, {phase}): {v}"
                           for v in traffic_violations(strategy, api_client, namespace)]
            abortable = ours and current.get("phase") in ("progressing", "paused")
            recovery = "abort" if abortable and prefers_abort else "re-run"
            if recovery == "re-run" and chained < 2 and kills < kill_count and chain_draw < KILL_RERUN_CHANCE:
                chained += 1
                recoveries["re-run, itself killed"] += 1
                print("  recovery: a re-run, which is itself a kill target")
                continue
            recoveries[recovery] += 1
            if recovery == "abort":
                code = run(cluster, ansible_playbook(strategy, namespace, "abort.yml"))[3]
                outcome = (strategy.aborted, stable, code)
            else:
                code = run(cluster, release)[3]
                outcome = ("promoted", version, code)
            print(f"  recovery: {recovery}, exit {code}")
            break
        phase, serving, code = outcome
        if code != 0:
            violations.append(f"{version}: the recovery ({phase}) failed with exit code {code}")
        violations += [f"{version} after recovery: {v}"
                       for v in end_violations(strategy, api_client, namespace, version, phase, serving)]
        stable = serving

    summary = (f"{name}: {kills} kills over {releases} releases in {time.monotonic() - started:.0f} s; "
               f"record when killed: {dict(phases)}; recoveries: {dict(recoveries)}; "
               f"violations: {len(violations)}")
    print(summary)
    for violation in violations:
        print("VIOLATION", violation)
    assert not violations, summary + "\n" + "\n".join(violations)


@pytest.mark.long
@pytest.mark.parametrize("series", range(SERIES))
def test_killed_blue_green_releases_end_consistently(series, api_client, cluster, namespace):
    kill_trials(BlueGreen, series, cluster, api_client, namespace)


@pytest.mark.long
@pytest.mark.parametrize("series", range(SERIES))
def test_killed_canary_releases_end_consistently(series, api_client, cluster, namespace):
    kill_trials(Canary, series, cluster, api_client, namespace)


@pytest.mark.long
def test_killed_rolling_updates_end_consistently(api_client, cluster, namespace):
    kill_trials(Rolling, 0, cluster, api_client, namespace)


def test_a_first_blue_green_release_killed_once_its_service_exists_is_finished_by_a_rerun(
        api_client, cluster, namespace):
    """The first release creates the active Service before its color is rolled out; killed there, the
    Service already shows the version, yet a re-run must finish the release, not call it released."""
    never_ready = {"3.0.0": {"simulator.terragonlabs.io/ready": "false"}}
    # Pods that never become Ready hold the killed run in its rollout wait, after the Service exists.
    process = subprocess.Popen(
        ansible_playbook(BlueGreen, namespace, BlueGreen.playbook, release_version="3.0.0",
                         pd_pod_annotations_by_version=never_ready),
        cwd=REPO, env=ansible_env(cluster), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (APP in services(api_client, namespace) and leases(api_client, namespace)):
            assert process.poll() is None and time.monotonic() < deadline, "the release never created its Service"
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            kill_tree(process.pid)
        process.wait()
    assert (record(api_client, namespace).get("version"), record(api_client, namespace).get("phase")) == (
        "3.0.0", "progressing")

    code = run(cluster, ansible_playbook(BlueGreen, namespace, BlueGreen.playbook, release_version="3.0.0"))[3]

    assert code == 0
    assert end_violations(BlueGreen, api_client, namespace, "3.0.0", "promoted", "3.0.0") == []
