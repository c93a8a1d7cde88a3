"""A real kube-apiserver restarted in the middle of a blue-green release.

A second kube-apiserver process serves the shared cluster's etcd on a port of its own, with the
same command line, certificates and service-account keys as the cluster's own (local_cluster.
apiserver_argv), and the release talks only to it. The cluster's controllers and kwok keep acting
through the first API server on the same etcd, so the new color rolls out for real while the
second one is killed (SIGKILL) and started again. A watcher checks through the first API server
that the active Service never selects a color without Ready pods.

Two kinds of task meet the outage. The collection's modules retry with kube_client.retry_policy:
those outages begin as the pre-promotion gate ends, when the next request comes from release_info
recording the verdict. The roles' kubernetes.core tasks, whose kubernetes library retries a refused
connection only three times and at once, are retried by the task itself (until the result is not
kube_api_unavailable): that outage begins as the promotion scales the new color up."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

import local_cluster
from conftest import REPO, ansible_env, wait_for
from test_blue_green import APP, FAST, record, release, serving


class SecondApiServer:
    """A kube-apiserver process beside the cluster's own, which the test may kill and start again."""

    def __init__(self, log_path):
        self.port = _free_port()
        self.argv = local_cluster.apiserver_argv(local_cluster.resolve_binaries()["kube-apiserver"], self.port)
        self.log_path = log_path
        self.process = None
        self.ready_after = []  # seconds from each start to /readyz answering 200

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self):
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for(self._ready, 120, "the second kube-apiserver to become ready (log %s)" % self.log_path)
        self.ready_after.append(time.monotonic() - started)

    def kill(self):
        """SIGKILL, as a crashed or evicted API server goes: no graceful shutdown of connections."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError("the second kube-apiserver exited (%s); see %s" % (self.process.returncode,
                                                                                    self.log_path))
        try:
            return local_cluster.apiserver_ready(self.url)
        except OSError:
            return False


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def second_api_server(cluster, tmp_path):
    """(the second API server, already serving; a kubeconfig for it with the cluster's credentials)."""
    server = SecondApiServer(tmp_path / "second-kube-apiserver.log")
    try:
        server.start()
        config = yaml.safe_load(Path(cluster["kubeconfig"]).read_text())
        for entry in config["clusters"]:
            entry["cluster"]["server"] = server.url
        kubeconfig = tmp_path / "second-apiserver.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(config))
        yield server, str(kubeconfig)
    finally:
        server.kill()


class TrafficWatcher:
    """Polls, through the cluster's own API server, the active Service's selector and the Ready pods
    it selects; remembers each color it selected and every moment it selected no Ready pod."""

    def __init__(self, api_client, namespace):
        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self.colors = []
        self.unready = []
        self.errors = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(30)

    def saw(self, *colors):
        """Asserts the Service selected exactly one of these sequences of colors in turn, each always
        with Ready pods."""
        assert not self.errors, self.errors
        assert self.colors in list(colors) and not self.unready, (self.colors, self.unready)

    def _watch(self):
        while not self.stopped.wait(0.5):
            try:
                self._look()
            except Exception as error:  # pylint: disable=broad-exception-caught  # reported by saw()
                self.errors.append(error)

    def _look(self):
        selector = self.core.read_namespaced_service(APP, self.namespace).spec.selector
        pods = self.core.list_namespaced_pod(
            self.namespace, label_selector=",".join("%s=%s" % item for item in selector.items())).items
        ready = [p for p in pods if any(c.type == "Ready" and c.status == "True"
                                        for c in p.status.conditions or [])]
        color = selector["terragonlabs.io/color"]
        if not self.colors or self.colors[-1] != color:
            self.colors.append(color)
        if not ready:
            self.unready.append((time.monotonic(), color))


def start_release(cluster, namespace, version, kubeconfig, **extra):
    """ansible-playbook blue_green.yml against the given kubeconfig, running in the background; its
    output lines are collected as they come."""
    variables = dict(FAST, pd_namespace=namespace, release_version=version, pd_kubeconfig=kubeconfig, **extra)
    env = dict(ansible_env(cluster), K8S_AUTH_KUBECONFIG=kubeconfig, PYTHONUNBUFFERED="1")
    run = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
         "playbooks/blue_green.yml", "-e", json.dumps(variables)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    run.lines = []
    threading.Thread(target=lambda: run.lines.extend(run.stdout), daemon=True).start()
    return run


def stop(run):
    """Kills a release left running by a failed assertion, with its workers."""
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()


def output(run):
    return "".join(run.lines)


def wait_for_output(run, text, what):
    try:
        wait_for(lambda: text in output(run) or run.poll() is not None, 600, what)
    except AssertionError as error:
        raise AssertionError("%s; the release printed:\n%s" % (error, output(run))) from None
    assert run.poll() is None, output(run)


def lease_held(api_client, namespace):
    return bool(client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items)


# Shown as the engine's first step ends, its pre-promotion gate passed: the promotion's first API
# request follows.
AFTER_THE_GATE = "1.1.0 ready on green"
# The switch to green follows the gate at once, so it may reach the server just before the kill; the
# abort then sends traffic back to blue, whose pods wait out the scale-down delay.
BACK_ON_BLUE = (["blue"], ["blue", "green", "blue"])


def release_through_a_restart(api_client, cluster, namespace, second_api_server, outage):
    """Releases 1.0.0, then 1.1.0 through the second API server, which is killed as the pre-promotion
    gate ends and started again once outage(run) returns: (the release's exit code, its output, the
    traffic watcher, the record)."""
    server, kubeconfig = second_api_server
    release(cluster, namespace, "1.0.0")
    with TrafficWatcher(api_client, namespace) as watcher:
        run = start_release(cluster, namespace, "1.1.0", kubeconfig)
        try:
            wait_for_output(run, AFTER_THE_GATE, "the pre-promotion gate to end")
            server.kill()
            outage(run)
            server.start()
            code = run.wait(timeout=600)
        finally:
            stop(run)
    print("the second API server was ready %.1f s after its restart; the release exited %d"
          % (server.ready_after[-1], code))
    assert not lease_held(api_client, namespace)
    return code, output(run), watcher, record(api_client, namespace)[0]


@pytest.mark.timeout(1500)  # two blue-green releases on a shared machine
def test_a_release_through_a_real_api_server_restart_is_promoted_or_cleanly_aborted(
        api_client, cluster, namespace, second_api_server):
    code, _output, watcher, current = release_through_a_restart(
        api_client, cluster, namespace, second_api_server, outage=lambda run: None)
    if code == 0:
        # The retries (about 15.5 s) outlasted the restart: the release went on as if nothing happened.
        assert serving(api_client, namespace) == ("green", "1.1.0", 3)
        assert (current["version"], current["phase"], current["gate"]["verdict"]) == ("1.1.0", "promoted", "Successful")
        watcher.saw(["blue", "green"])
    else:
        # A loaded machine can take longer than the retries to start an API server: then the release
        # must have ended as the next test's does, cleanly aborted.
        assert_aborted_because_unreachable(api_client, namespace, current)
        watcher.saw(*BACK_ON_BLUE)


@pytest.mark.timeout(1500)  # two blue-green releases on a shared machine
def test_an_outage_past_the_retry_bound_aborts_the_release_cleanly(api_client, cluster, namespace,
                                                                   second_api_server):
    # Down until the task has spent its retries; the rescue then finds the server again.
    code, printed, watcher, current = release_through_a_restart(
        api_client, cluster, namespace, second_api_server,
        outage=lambda run: wait_for_output(run, "cannot reach the Kubernetes API server",
                                           "the task to give up on the API server"))
    assert code != 0, printed
    assert_aborted_because_unreachable(api_client, namespace, current)
    watcher.saw(*BACK_ON_BLUE)


# Shown as the engine's promotion ends: the next step keeps the old color for the scale-down delay,
# then scales it to zero. The delay leaves the time to take the server down before the scale-down.
PROMOTED = "promoted modelcard-generator 1.1.0: all traffic on green"
SCALE_DOWN_DELAY = 5


@pytest.mark.timeout(1500)  # two blue-green releases on a shared machine
def test_a_promotion_rides_out_a_real_api_server_restart(api_client, cluster, namespace, second_api_server):
    """Down past the client's retries during the scale-down: the call fails, and one more call,
    retried until the server answers again, finishes the promotion."""
    server, kubeconfig = second_api_server
    release(cluster, namespace, "1.0.0")
    with TrafficWatcher(api_client, namespace) as watcher:
        run = start_release(cluster, namespace, "1.1.0", kubeconfig, pd_scale_down_delay_seconds=SCALE_DOWN_DELAY)
        try:
            wait_for_output(run, PROMOTED, "the promotion")
            server.kill()
            wait_for_output(run, "cannot reach the Kubernetes API server", "the scale-down to give up on the server")
            server.start()
            code = run.wait(timeout=600)
        finally:
            stop(run)
    assert code == 0 and "Finish what the API server's outage left undone" in output(run), output(run)
    print("the second API server was ready %.1f s after its restart" % server.ready_after[-1])
    assert serving(api_client, namespace) == ("green", "1.1.0", 3)
    current = record(api_client, namespace)[0]
    assert (current["version"], current["phase"], current["step"]) == ("1.1.0", "promoted", "promoted")
    assert not lease_held(api_client, namespace)
    watcher.saw(["blue", "green"])


def assert_aborted_because_unreachable(api_client, namespace, current):
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    assert client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-green", namespace).spec.replicas == 0
    assert (current["version"], current["phase"]) == ("1.1.0", "aborted")
    assert current["details"]["reason"].startswith("cannot reach the Kubernetes API server"), current
