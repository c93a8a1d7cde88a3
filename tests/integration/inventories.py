"""Inventories of the local environment for tests and benchmarks of a fleet."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def fleet_inventory(directory, hosts, groups=None):
    """An inventory of the local environment in directory whose applications (hosts, with their own
    variables, in release order) are each a Model Card Generator. groups: more groups of those
    applications, {name: (variables, [applications])}; their variables override the environment's."""
    local = REPO / "inventories" / "local"
    app_vars = yaml.safe_load((local / "host_vars" / "modelcard-generator.yml").read_text())
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "all").symlink_to(local / "group_vars" / "all")
    inventory = {"applications": {"hosts": hosts, "vars": app_vars}}
    for name, (variables, members) in (groups or {}).items():
        inventory[name] = {"hosts": dict.fromkeys(members)}
        # In group_vars/, since variables in the inventory file lose to group_vars/all.
        (directory / "group_vars" / f"{name}.yml").write_text(yaml.safe_dump(variables))
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    return directory


def clusters_inventory(directory, clusters, hosts):
    """A fleet_inventory whose applications span local clusters: clusters maps a group name to a
    cluster's info (its kubeconfig, context, Prometheus and simulator); hosts maps each application,
    in release order, to its cluster's group and its own variables."""
    directory.mkdir()
    smoke_test_path = "/services/{{ pd_namespace }}/{{ inventory_hostname }}-preview/health"
    groups = {group: ({"pd_cluster": group, "pd_kubeconfig": info["kubeconfig"], "pd_context": info["context"],
                       "pd_prometheus": {"url": info["prometheus_url"]},
                       "pd_smoke_test": {"url": info["simulator_url"] + smoke_test_path, "requests": 20,
                                         "concurrency": 4}},
                      [app for app, (member, variables) in hosts.items() if member == group])
              for group, info in clusters.items()}
    return fleet_inventory(directory, {app: variables for app, (group, variables) in hosts.items()}, groups)
