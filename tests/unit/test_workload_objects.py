"""An application's objects built as data (module_utils/manifests.py): every field the workload
role's templates gave (tests/unit/workload_objects.yml), each value placed as it is, and the
workload_objects filter the role applies them through."""

import pathlib

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.terragonlabs.progressive_delivery.plugins.filter.workload_objects import objects_of
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.manifests import workload_objects

EXPECTED = yaml.safe_load(pathlib.Path(__file__).with_name("workload_objects.yml").read_text())

# The workload role's defaults.
DEFAULTS = {
    "name": "web", "deployment_name": "web", "version": "1.0.0", "image": "ghcr.io/terragonlabs/web:1.0.0",
    "replicas": 1, "port": 8080, "health_path": "/health",
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "progress_deadline_seconds": 600, "pod_labels": {}, "pod_annotations": {}, "services": [{"name": "web"}],
    "config": [], "max_surge": "25%", "max_unavailable": "25%", "pdb_max_unavailable": 1, "hpa": {}, "ingress": {},
}

SCENARIOS = {
    "workload defaults": DEFAULTS,
    "workload blue color with everything": DEFAULTS | {
        "name": "shop", "deployment_name": "shop-blue", "version": "2.3.1",
        "image": "registry.example.com/shop/api:2.3.1", "replicas": 3, "port": 9090, "health_path": "/healthz",
        "pod_labels": {"terragonlabs.io/color": "blue"}, "pod_annotations": {"prometheus.io/scrape": "true"},
        "max_surge": 1, "max_unavailable": 0, "progress_deadline_seconds": 300,
        "services": [
            {"name": "shop", "selector": {"terragonlabs.io/color": "blue"}, "annotations": {"owner": "team-shop"}},
            {"name": "shop-preview", "selector": {"terragonlabs.io/color": "green"}}],
        "ingress": {"name": "shop-public", "host": "shop.example.com", "path": "/api", "class_name": "nginx",
                    "tls_secret": "shop-tls", "service": "shop",
                    "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}},
        "pdb_max_unavailable": "50%", "hpa": {"min_replicas": 3, "max_replicas": 10, "cpu_utilization": 80},
        "config": [{"config_map": "shop-settings-5f1c2a9e0b"},
                   {"secret": "shop-credentials-0a1b2c3d4e", "mount_path": "/etc/shop"},
                   {"config_map": "shop-features-9e8d7c6b5a", "mount_path": "/etc/shop-features"}],
    },
    # As `-e name=value` passes them: numbers as strings, which must still reach integer fields as integers.
    "workload numbers as strings": DEFAULTS | {
        "replicas": "2", "port": "8080", "progress_deadline_seconds": "600", "services": [],
        "ingress": {"host": "web.example.com"}, "hpa": {"min_replicas": "2", "max_replicas": "4"},
    },
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_settings_give_the_objects_the_templates_gave(scenario):
    assert workload_objects(**SCENARIOS[scenario]) == EXPECTED[scenario]


@pytest.mark.parametrize("value", ["2024", "1.10", "yes", "null", "1:30", "017",
                                   'a "quoted": value # {{ not_a_template }} $(id)\n- next'])
def test_strings_reach_the_objects_as_they_are(value):
    deployment = workload_objects(**DEFAULTS | {"health_path": value, "image": value})[1]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == container["readinessProbe"]["httpGet"]["path"] == value


@pytest.mark.parametrize("settings, expected", [
    ({}, ["Service", "Deployment"]),
    ({"replicas": 2}, ["Service", "Deployment", "PodDisruptionBudget"]),
    ({"services": [], "hpa": {"min_replicas": 1, "max_replicas": 2}},
     ["Deployment", "HorizontalPodAutoscaler"]),
    ({"ingress": {"host": "web.example.com"}}, ["Service", "Deployment", "Ingress"]),
])
def test_the_objects_a_workload_has(settings, expected):
    assert [body["kind"] for body in workload_objects(**DEFAULTS | settings)] == expected


def test_the_release_engine_needs_no_autoscaler_ingress_or_rollout_sizes():
    given = dict((key, DEFAULTS[key]) for key in DEFAULTS
                 if key not in ("max_surge", "max_unavailable", "pdb_max_unavailable", "hpa", "ingress"))
    assert workload_objects(**given) == EXPECTED["workload defaults"]


def test_the_filter_names_a_missing_setting():
    settings = dict(DEFAULTS)
    del settings["health_path"]
    with pytest.raises(AnsibleFilterError, match="health_path"):
        objects_of(settings)
    assert objects_of(DEFAULTS) == EXPECTED["workload defaults"]
