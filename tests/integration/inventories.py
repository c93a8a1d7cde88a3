"""Inventories of the local environment for tests and benchmarks of a fleet."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def fleet_inventory(directory, hosts):
    """An inventory of the local environment in directory whose applications (hosts, with their own
    variables) are each a Model Card Generator."""
    local = REPO / "inventories" / "local"
    app_vars = yaml.safe_load((local / "host_vars" / "modelcard-generator.yml").read_text())
    (directory / "group_vars").symlink_to(local / "group_vars")
    (directory / "hosts.yml").write_text(yaml.safe_dump({"applications": {"hosts": hosts, "vars": app_vars}}))
    return directory
