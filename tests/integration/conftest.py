"""Fixtures for tests against the real local cluster: one cluster and Prometheus per test session
(started when not running, left running for the next session), a fresh namespace per test."""

import collections
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "local_cluster"))
sys.path.insert(0, str(REPO / "tools" / "local_awx"))

import local_awx  # noqa: E402
import local_cluster  # noqa: E402


def pytest_collection_modifyitems(items):
    """Long tests first: pytest-xdist hands out tests in this order, and one started last would
    keep a single worker busy after the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def cluster():
    try:
        local_cluster.up()
    except local_cluster.ClusterError as error:
        pytest.fail(f"the local cluster did not start: {error}")
    return local_cluster.cluster_info()


@pytest.fixture(scope="session")
def awx(cluster):
    """The local AWX (tools/local_awx), installed and started as `make awx-up` does; one start per
    run even with several workers, left running for the next run like the cluster. A test run keeps
    it to itself until it ends: two runs configuring one AWX at once would each create the objects
    the other had not yet (AWX allows two job templates of one name), and each run deletes the jobs
    started while its tests ran."""
    local_awx.STATE_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(local_awx.STATE_DIR.parent / "awx-tests.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for another test run to finish with the local AWX", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield local_awx.up()
        except local_awx.AwxError as error:
            pytest.fail(f"the local AWX did not start: {error}")


@pytest.fixture(scope="session")
def api_client(cluster):
    return config.new_client_from_config(config_file=cluster["kubeconfig"])


@pytest.fixture()
def namespace(api_client):
    """A fresh namespace that enforces the restricted Pod Security profile, deleted afterwards."""
    with fresh_namespace(api_client) as name:
        yield name


@contextlib.contextmanager
def fresh_namespace(api_client, name=None):
    """The namespace fixture's namespace, for a test that needs several or one of a given name."""
    name = name or f"test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": name, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    try:
        wait_for(lambda: _has_default_service_account(core, name), 30, "the default ServiceAccount")
        yield name
    finally:
        core.delete_namespace(name)


def _has_default_service_account(core, namespace):
    try:
        core.read_namespaced_service_account("default", namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def wait_for(predicate, timeout, what, interval=0.25):
    """Polls predicate until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def prometheus_query(prometheus_url, query):
    """The result vector of an instant query, as [(labels, float value)]."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return [(sample["metric"], float(sample["value"][1])) for sample in body["data"]["result"]]


def ansible_env(cluster):
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                K8S_AUTH_KUBECONFIG=cluster["kubeconfig"], ANSIBLE_FORCE_COLOR="0")


# Environment variables under which ansible prints its results as one JSON document.
JSON_OUTPUT = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}


def run_module(cluster, module, args, check=False, diff=False):
    """Runs one of the collection's modules through ansible, as a task would, and returns its result."""
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m",
               f"terragonlabs.progressive_delivery.{module}", "-a", json.dumps(args)]
    command += ["--check"] * check + ["--diff"] * diff
    env = dict(ansible_env(cluster), **JSON_OUTPUT)
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                               timeout=900, check=False)
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from ansible:\n{completed.stdout}\n{completed.stderr}")
    return output["plays"][0]["tasks"][0]["hosts"]["localhost"]


def run_playbook(cluster, playbook, *args, check=True, env=None):
    """Runs ansible-playbook from the repository root as a user would, with env's variables added."""
    env = dict(ansible_env(cluster), **(env or {}))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / playbook), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{playbook} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def task_results(output, name):
    """Each host's result of the tasks whose names (templated, without the role's) start with name, from
    ansible's JSON output."""
    return {host: result for play in json.loads(output)["plays"] for task in play["tasks"]
            if task["task"]["name"].split(" : ")[-1].startswith(name) for host, result in task["hosts"].items()}


def descendants(pid):
    """The process ids below pid, read from /proc."""
    children = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name, in parentheses, may hold spaces: the fields after it are fixed.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
        children[parent].append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        found += children[queue[-1]]
        queue = queue[:-1] + children[queue[-1]]
    return found


def kill_tree(pid):
    """SIGKILLs ansible-playbook and every process below it: its workers call setsid, so killing
    its process group would leave a task in flight to finish. Stopped first, so none forks anew."""
    os.kill(pid, signal.SIGSTOP)
    tree = descendants(pid)
    for child in tree:
        try:
            os.kill(child, signal.SIGSTOP)
        except ProcessLookupError:
            pass
    for target in [pid] + tree + descendants(pid):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
