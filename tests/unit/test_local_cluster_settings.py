"""Where each local cluster lives: the index derives every port, the state directory and the
kubeconfig context; explicit variables still win; the default cluster stays where it always was."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "local_cluster"))

import local_cluster  # noqa: E402

HOME = {"HOME": "/home/u"}
DEFAULT_PORTS = {"etcd": 23790, "etcd-peer": 23800, "kube-apiserver": 26443, "kube-controller-manager": 26257,
                 "kube-scheduler": 26259, "kwok": 26247, "prometheus": 29090, "traffic-simulator": 29100,
                 "alertmanager": 29093, "ansible-rulebook": 29500}


@pytest.mark.parametrize("index, environ, ports, directory, context", [
    (0, HOME, {}, "/home/u/.local/state/progressive-delivery/cluster", "progressive-delivery-local"),
    (1, HOME, {"kube-apiserver": 27443, "prometheus": 30090, "traffic-simulator": 30100, "etcd": 24790},
     "/home/u/.local/state/progressive-delivery/cluster-1", "progressive-delivery-local-1"),
    (2, HOME, {"kube-apiserver": 28443, "kwok": 28247, "etcd-peer": 25800},
     "/home/u/.local/state/progressive-delivery/cluster-2", "progressive-delivery-local-2"),
    (3, HOME, {"prometheus": 32090}, "/home/u/.local/state/progressive-delivery/cluster-3",
     "progressive-delivery-local-3"),
    (1, dict(HOME, XDG_STATE_HOME="/state"), {}, "/state/progressive-delivery/cluster-1", "progressive-delivery-local-1"),
    # Explicit variables win over what the index derives.
    (1, dict(HOME, PD_CLUSTER_DIR="/tmp/c", PD_APISERVER_PORT="26543"), {"kube-apiserver": 26543},
     "/tmp/c", "progressive-delivery-local-1"),
    (0, dict(HOME, PD_PROMETHEUS_PORT="29190"), {"prometheus": 29190},
     "/home/u/.local/state/progressive-delivery/cluster", "progressive-delivery-local"),
])
def test_the_index_derives_ports_directory_and_context(index, environ, ports, directory, context):
    chosen = local_cluster.settings(index, environ)
    # Ports not listed move by the index's step.
    expected = {name: ports.get(name, port + 1000 * index) for name, port in DEFAULT_PORTS.items()}
    if "PD_APISERVER_PORT" in environ:
        expected["kube-apiserver"] = int(environ["PD_APISERVER_PORT"])
    if "PD_PROMETHEUS_PORT" in environ:
        expected["prometheus"] = int(environ["PD_PROMETHEUS_PORT"])
    components = [c for c in local_cluster.ALL_COMPONENTS if index == 0 or c not in ("alertmanager", "ansible-rulebook")]
    assert chosen == {"ports": expected, "directory": Path(directory), "context": context, "components": components}


def test_clusters_never_share_a_port():
    ports = [port for index in range(local_cluster.MAX_INDEX + 1)
             for port in local_cluster.settings(index, HOME)["ports"].values()]
    assert len(ports) == len(set(ports))
    assert max(ports) < 32768  # below the ephemeral range clients' own ports come from


@pytest.mark.parametrize("index", [-1, local_cluster.MAX_INDEX + 1])
def test_an_index_out_of_range_is_refused(index):
    with pytest.raises(local_cluster.ClusterError, match="cluster index must be 0 to 3"):
        local_cluster.settings(index, HOME)


def test_an_index_that_is_no_number_is_refused_in_one_line(capsys):
    assert local_cluster.main(["status", "--index", "two"]) == 1
    assert capsys.readouterr().err == "local-cluster: error: the cluster index must be a whole number, got 'two'\n"
