"""Secrets never reach output or the cluster: a Prometheus that demands a bearer token or basic auth
(a proxy in front of the real one), queried by metric_gate and by blue-green releases at -vvv; the
secret values appear nowhere in stdout/stderr, the release record, the lock or any object."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from conftest import REPO, ansible_env, run_playbook
from prometheus_proxy import PrometheusProxy

APP = "modelcard-generator"
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_scale_down_delay_seconds": 0}
TOKEN = "tok-" + uuid.uuid4().hex
PASSWORD = "pw-" + uuid.uuid4().hex
WRONG_PASSWORD = "wrong-" + uuid.uuid4().hex
HEADER_SECRET = "hdr-" + uuid.uuid4().hex
SECRETS = (TOKEN, PASSWORD, WRONG_PASSWORD, HEADER_SECRET)


@pytest.fixture()
def prometheus(cluster):
    proxy = PrometheusProxy(cluster["prometheus_url"], bearer_token=TOKEN, basic=("gate", PASSWORD))
    yield proxy
    proxy.close()


def leaks(*texts):
    return [secret for secret in SECRETS for text in texts if secret in text]


def everything_in(api_client, namespace):
    """Every object a release writes in the namespace, as JSON text."""
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    objects = [core.list_namespaced_config_map(namespace), core.list_namespaced_service(namespace),
               core.list_namespaced_event(namespace), apps.list_namespaced_deployment(namespace),
               apps.list_namespaced_replica_set(namespace),
               client.CoordinationV1Api(api_client).list_namespaced_lease(namespace)]
    return json.dumps([api_client.sanitize_for_serialization(o) for o in objects])


def metric_gate_vvv(cluster, prometheus):
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-vvv", "-m",
               "terragonlabs.progressive_delivery.metric_gate", "-a", json.dumps({
                   "prometheus": prometheus,
                   "metrics": [{"name": "scrapes", "query": "sum(up)", "success": {"min": 1}}]})]
    return subprocess.run(command, cwd=REPO, env=ansible_env(cluster), capture_output=True, text=True,
                          timeout=300, check=False)


def test_metric_gate_credentials_stay_out_of_verbose_output(cluster, prometheus):
    with_basic_auth = metric_gate_vvv(cluster, {"url": prometheus.url, "username": "gate", "password": PASSWORD,
                                                "secret_headers": {"X-Scope-OrgID": HEADER_SECRET}})
    assert with_basic_auth.returncode == 0, with_basic_auth.stdout + with_basic_auth.stderr
    assert "verdict: Successful" in with_basic_auth.stdout
    with_token = metric_gate_vvv(cluster, {"url": prometheus.url, "bearer_token": TOKEN})
    assert with_token.returncode == 0, with_token.stdout + with_token.stderr
    refused = metric_gate_vvv(cluster, {"url": prometheus.url, "username": "gate", "password": WRONG_PASSWORD})
    assert refused.returncode != 0 and "401" in refused.stdout
    assert prometheus.queries >= 2 and prometheus.refused >= 1  # the credentials were really used
    runs = (with_basic_auth, with_token, refused)
    assert leaks(*(run.stdout + run.stderr for run in runs)) == []


@pytest.mark.timeout(1200)  # a release at -vvv on a shared machine
def test_a_release_checking_an_authenticated_prometheus_leaks_nothing(api_client, cluster, namespace, prometheus):
    # The release hands pd_prometheus, token included, to metric_gate (its metric source check) through
    # the role's variables; test_prometheus_faults.py takes a release's gates through the same proxy.
    variables = dict(FAST, pd_namespace=namespace, release_version="1.0.0",
                     pd_prometheus={"url": prometheus.url, "bearer_token": TOKEN})
    run = run_playbook(cluster, "blue_green.yml", "-vvv", "-i", "inventories/local", "-e", json.dumps(variables))
    record = json.loads(client.CoreV1Api(api_client).read_namespaced_config_map(
        f"{APP}-release", namespace).data["release.json"])
    assert (record["version"], record["phase"]) == ("1.0.0", "promoted")
    assert prometheus.refused == 0 and prometheus.queries >= 1  # the source check went through it, with the token
    assert leaks(run.stdout, run.stderr, everything_in(api_client, namespace)) == []
