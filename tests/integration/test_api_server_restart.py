"""The API server going away mid-release: modules talk to the real kube-apiserver through a relay
that resets open connections and refuses new ones for a few seconds, as a restarting API server
does. The client's retry policy (kube_client.retry_policy) must carry calls across the gap,
within its bound, and give up with a clear message past it.

The relay makes those faults cheaply and on cue, down to the exact retry bound; a real
kube-apiserver process killed and started again in the middle of a whole release is in
test_api_server_process_restart.py."""

import threading
import time
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes import client

from conftest import wait_for
from in_process import run_in_process
from objects import deployment
from tcp_relay import TcpRelay


@pytest.fixture()
def relay(cluster, tmp_path):
    """(relay, kubeconfig whose server is the relay; same CA and client certificate)."""
    server = urlsplit(cluster["api_server"])
    relay = TcpRelay(server.hostname, server.port)
    config = yaml.safe_load(open(cluster["kubeconfig"]))
    for entry in config["clusters"]:
        entry["cluster"]["server"] = "https://%s" % relay.address
    path = tmp_path / "relayed.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    yield relay, str(path)
    relay.down()


def in_background(module, args):
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(run_in_process(module, args)), daemon=True)
    thread.start()
    return thread, outcome


def test_a_write_started_while_the_api_server_restarts_goes_through(api_client, namespace, relay):
    relay, kubeconfig = relay
    relay.down()
    thread, outcome = in_background("release_lock", {"app": "web", "namespace": namespace, "holder": "ci",
                                                     "kubeconfig": kubeconfig})
    time.sleep(3)  # requests meet connection refused and back off
    relay.up()
    thread.join(60)
    assert not outcome.get("failed") and outcome["changed"] is True, outcome
    lease = client.CoordinationV1Api(api_client).read_namespaced_lease("web-release-lock", namespace)
    assert lease.spec.holder_identity.startswith("ci@")


def test_a_rollout_wait_survives_a_restart_in_the_middle(api_client, namespace, relay):
    relay, kubeconfig = relay
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, deployment("web", "web", "1.0.0"))
    thread, outcome = in_background("rollout_status", {"name": "web", "namespace": namespace, "timeout": 300,
                                                       "poll_interval": 0.5, "kubeconfig": kubeconfig})
    wait_for(lambda: relay.connections, 60, "the module to connect")
    relay.down()  # open connections reset mid-poll, new ones refused
    time.sleep(3)
    relay.up()
    thread.join(300)
    assert not outcome.get("failed"), outcome
    assert outcome["replicas"]["ready"] == 3


def test_an_outage_past_the_retry_bound_fails_clearly(namespace, relay):
    relay, kubeconfig = relay
    relay.down()
    started = time.monotonic()
    outcome = run_in_process("release_info", {"app": "web", "namespace": namespace, "kubeconfig": kubeconfig})
    elapsed = time.monotonic() - started
    assert outcome["failed"] and outcome["msg"].startswith("cannot reach the Kubernetes API server"), outcome
    assert 15 <= elapsed < 60  # the retry policy's 15.5 s of backoff, then the answer
