"""Objects every local cluster starts with: simulated nodes and the traffic routers' CRDs."""

import time
from pathlib import Path

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

ZONES = ["zone-a", "zone-b", "zone-c"]


def _node(name, zone):
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            # kwok manages only nodes with this annotation (see --manage-nodes-with-annotation-selector).
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "type": "kwok",
                       "topology.kubernetes.io/zone": zone},
        },
        "status": {"allocatable": resources, "capacity": resources},
    }


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def create(kubeconfig, node_count, crd_dir: Path):
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    extensions = client.ApiextensionsV1Api(api_client)

    for index in range(node_count):
        try:
            core.create_node(_node(f"kwok-node-{index}", ZONES[index % len(ZONES)]))
        except ApiException as error:
            if error.status != 409:
                raise

    names = []
    for path in sorted(crd_dir.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            names.append(document["metadata"]["name"])
            try:
                extensions.create_custom_resource_definition(document)
            except ApiException as error:
                if error.status != 409:
                    raise

    def established(name):
        crd = extensions.read_custom_resource_definition(name)
        return any(c.type == "Established" and c.status == "True"
                   for c in (crd.status.conditions or []))

    _wait(lambda: all(established(n) for n in names), 60, "the router CRDs to be established")

    def nodes_ready():
        nodes = core.list_node().items
        return len(nodes) >= node_count and all(
            any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
            for n in nodes)

    _wait(nodes_ready, 60, f"{node_count} simulated nodes to be Ready")
    # Pods are admitted only once the namespace's default ServiceAccount exists.
    _wait(lambda: _exists(core.read_namespaced_service_account, "default", "default"), 60,
          "the default ServiceAccount")


def _exists(read, *args):
    try:
        read(*args)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True
