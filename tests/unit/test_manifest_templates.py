"""The roles' manifest templates, rendered with Ansible's own template lookup: every value reaches
the objects as data, so a value that is hostile to YAML arrives verbatim, and ordinary values give
the objects they always gave (tests/unit/manifest_templates.yml)."""

import json
import pathlib
import re

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXPECTED = pathlib.Path(__file__).with_name("manifest_templates.yml")

RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}

ENVIRONMENT = {
    "environment_name": "production", "environment_namespace": "shop-prod", "environment_app_name": "shop",
    "environment_app_port": 8080, "environment_pod_security_level": "restricted",
    "environment_quota": {"requests.cpu": "12", "pods": "40"}, "environment_default_container_resources": RESOURCES,
    "environment_allowed_ingress_namespaces": ["ingress-nginx", "istio-system", "openshift-ingress", "monitoring"],
    "environment_deployer_service_account": "progressive-delivery-deployer", "environment_deployer_secrets": True,
    "environment_error_rate_threshold": 0.05, "environment_latency_p99_threshold_seconds": 2,
    "environment_restart_rate_threshold": 0.1, "environment_alert_for": "5m", "environment_alert_rate_window": "5m",
}
CANARY = {
    "canary_app": "shop", "canary_route": "shop", "canary_route_host": "shop.example", "canary_stable_service": "shop",
    "canary_route_parent_refs": [{"name": "public", "namespace": "gateway-system"}],
}
ENVIRONMENT_TEMPLATES = [f"roles/environment/templates/{name}.yml.j2" for name in
                         ("namespace", "limits", "network-policies", "deployer", "dashboard", "alerts")]
ROUTE = "roles/canary/templates/route.yml.j2"

# Each scenario: the variables, and the renderings (template, variables of its own) it is made of.
SCENARIOS = {
    "environment with a quota": (ENVIRONMENT, [(path, {}) for path in ENVIRONMENT_TEMPLATES]),
    "environment without a quota": (ENVIRONMENT | {
        "environment_name": "staging", "environment_namespace": "shop-staging", "environment_app_port": "9090",
        "environment_pod_security_level": "baseline", "environment_quota": {},
        "environment_error_rate_threshold": 0.01, "environment_latency_p99_threshold_seconds": 0.5,
        "environment_restart_rate_threshold": 1,
    }, [(path, {}) for path in ENVIRONMENT_TEMPLATES]),
    "canary routes": (CANARY, [(ROUTE, {"canary_router": router})
                               for router in ("istio", "gateway_api", "nginx", "openshift_route")]),
}

# Each hostile form wraps a value (VALUE) in what breaks or changes YAML that pastes it.
HOSTILE = [
    'VALUE "double" quotes"',
    "it's VALUE's",
    "VALUE: a mapping",
    "VALUE # not a comment",
    "VALUE\nnext: line\n",
    "{VALUE: [flow, collections]}",
    "$(touch /tmp/pwned) `id` ${HOME} VALUE",
    "- *alias &anchor !!int VALUE",
    "VALUE\\ back\\slash \t tab % percent {{ not_a_template }}",
]


def render(template, variables):
    """The template as roles render it: the template lookup, given the role's variables."""
    loader = DataLoader()
    # ansible.builtin.template, by the short name that needs no collection loader in the test process.
    lookup = lookup_loader.get("template", loader=loader, templar=Templar(loader=loader))
    return lookup.run([str(template)], variables=variables)[0]


def objects(scenario, variables, root=ROOT):
    """The objects of every rendering of a scenario, as kubernetes.core reads a definition."""
    found = []
    for template, own in SCENARIOS[scenario][1]:
        found += [o for o in yaml.safe_load_all(render(root / template, variables | own)) if o]
    for o in found:
        # The dashboard is a JSON document inside a ConfigMap: compare what it holds.
        if o["kind"] == "ConfigMap":
            o["data"] = {k: json.loads(v) for k, v in o["data"].items()}
    return found


def marked(value, markers):
    """The value with each string leaf replaced by a marker of its own, to follow where it goes.
    Strings that are numbers stay: they stand for integers."""
    if isinstance(value, dict):
        return {k: marked(v, markers) for k, v in value.items()}
    if isinstance(value, list):
        return [marked(v, markers) for v in value]
    if isinstance(value, str) and not value.isdigit():
        markers.append(f"m{len(markers)}x")
        return markers[-1]
    return value


def replaced(value, pattern, by):
    if isinstance(value, dict):
        return {replaced(k, pattern, by): replaced(v, pattern, by) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(v, pattern, by) for v in value]
    if isinstance(value, str):
        return pattern.sub(lambda m: by[m.group()], value)
    return value


def test_every_template_is_rendered_here():
    rendered = {rendering[0] for scenario in SCENARIOS.values() for rendering in scenario[1]}
    assert {str(p.relative_to(ROOT)) for p in ROOT.glob("roles/*/templates/*.j2")} == rendered


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ordinary_values_give_the_same_objects(scenario):
    expected = yaml.safe_load(EXPECTED.read_text())[scenario]
    assert objects(scenario, SCENARIOS[scenario][0]) == expected


@pytest.mark.parametrize("form", HOSTILE)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_hostile_values_arrive_verbatim(scenario, form):
    markers = []
    variables = marked(SCENARIOS[scenario][0], markers)
    hostile = {m: form.replace("VALUE", m) for m in markers}
    pattern = re.compile("|".join(markers))
    plain = objects(scenario, variables)
    rendered = json.dumps(plain)
    assert [m for m in markers if m not in rendered] == [], "every string variable is used"

    expected = replaced(plain, pattern, hostile)
    for o in expected:
        for dashboard in o["data"].values() if o["kind"] == "ConfigMap" else ():
            dashboard["uid"] = dashboard["uid"][:40]
    hostile_variables = replaced(variables, pattern, hostile)
    assert objects(scenario, hostile_variables) == expected


@pytest.mark.parametrize("value", ["2024", "1.10", "yes", "null", "1:30", "017"])
def test_strings_that_look_like_other_types_stay_strings(value):
    labels = objects("environment with a quota", ENVIRONMENT | {"environment_name": value})[0]["metadata"]["labels"]
    assert labels["terragonlabs.io/environment"] == value
