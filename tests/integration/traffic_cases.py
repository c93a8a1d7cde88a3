"""One case per traffic router: the objects it routes with, the module arguments, and how to see
what it wrote. test_traffic_switch.py runs the behaviour every router shares over all of them."""

import json

from kubernetes import client

from conftest import wait_for
from objects import APP, VERSION, deployment, http_route, ingress, openshift_route, service, virtual_service

NOT_READY = {"simulator.terragonlabs.io/ready": "false"}
UNRELATED = {"owner.example.com/ticket": "OPS-42"}


def ready_endpoints(api_client, namespace, name):
    # Raw JSON: the typed model rejects the empty slices a Service without pods has.
    response = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={name}", _preload_content=False)
    slices = json.loads(response.data)["items"]
    return sum(1 for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready"))


def two_versions(api_client, namespace, canary_annotations=None):
    """Deployments web-v1 and web-v2 (one pod each) behind the Services web (stable, the entry the
    traffic simulator sends to) and web-canary; waits for the pods expected to become ready."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web-v1", "web", "1.0", replicas=1))
    apps.create_namespaced_deployment(namespace, deployment("web-v2", "web", "2.0", replicas=1,
                                                            annotations=canary_annotations))
    core.create_namespaced_service(namespace, service("web", {APP: "web", VERSION: "1.0"}))
    core.create_namespaced_service(namespace, service("web-canary", {APP: "web", VERSION: "2.0"}))
    wait_for(lambda: ready_endpoints(api_client, namespace, "web"), 60, "web's endpoints")
    if not canary_annotations:
        wait_for(lambda: ready_endpoints(api_client, namespace, "web-canary"), 60, "web-canary's endpoints")


class Case:
    """A router's setup: stable web and canary web-canary unless a case says otherwise."""

    router = ""
    weights = (30, 0)  # a canary share, then back to stable

    def __init__(self, api_client, namespace):
        self.api_client, self.namespace = api_client, namespace

    def args(self, **extra):
        return dict({"router": self.router, "namespace": self.namespace, "stable": "web", "canary": "web-canary"},
                    **extra)

    def initial(self):
        args = self.args()
        return {args["stable"]: 100, args["canary"]: 0}

    def ready_after_first_switch(self, ready):
        args = self.args()
        return ready == {args["stable"]: 1, args["canary"]: 1}

    def edit_unrelated(self, value):
        """Someone else's edit: an annotation on the managed object."""
        self.patch({"metadata": {"annotations": {"owner.example.com/ticket": value}}})

    def unrelated(self):
        return (self.read()["metadata"].get("annotations") or {}).get("owner.example.com/ticket")


class CustomRouteCase(Case):
    """A router that weights backends inside one custom resource named web."""

    group = version = plural = ""

    def __init__(self, api_client, namespace):
        super().__init__(api_client, namespace)
        self.custom = client.CustomObjectsApi(api_client)

    def create(self):
        self.custom.create_namespaced_custom_object(self.group, self.version, self.namespace, self.plural,
                                                    self.body("web", "web"))
        # Someone else's route in the same namespace, which must never be touched.
        self.custom.create_namespaced_custom_object(self.group, self.version, self.namespace, self.plural,
                                                    self.body("other", "web-canary"))

    def read(self, name="web"):
        return self.custom.get_namespaced_custom_object(self.group, self.version, self.namespace, self.plural, name)

    def versions(self):
        return {name: self.read(name)["metadata"]["resourceVersion"] for name in ("web", "other")}

    def patch(self, body):
        self.custom.patch_namespaced_custom_object(self.group, self.version, self.namespace, self.plural, "web", body)


class GatewayApiCase(CustomRouteCase):
    router = "gateway_api"
    group, version, plural = "gateway.networking.k8s.io", "v1", "httproutes"
    body = staticmethod(http_route)

    def written_weights(self):
        refs = self.read()["spec"]["rules"][0]["backendRefs"]
        return {ref["name"]: ref["weight"] for ref in refs}


class IstioCase(CustomRouteCase):
    router = "istio"
    group, version, plural = "networking.istio.io", "v1", "virtualservices"
    body = staticmethod(virtual_service)

    def written_weights(self):
        routes = self.read()["spec"]["http"][0]["route"]
        return {route["destination"]["host"]: route.get("weight") for route in routes}


class OpenShiftRouteCase(CustomRouteCase):
    router = "openshift_route"
    group, version, plural = "route.openshift.io", "v1", "routes"
    body = staticmethod(openshift_route)

    def written_weights(self):
        spec = self.read()["spec"]
        return {target["name"]: target.get("weight") for target in [spec["to"]] + spec.get("alternateBackends", [])}


class NginxCase(Case):
    """The stable Ingress web; the router adds the canary Ingress web-canary."""

    router = "nginx"

    def __init__(self, api_client, namespace):
        super().__init__(api_client, namespace)
        self.networking = client.NetworkingV1Api(api_client)

    def args(self, **extra):
        return super().args(route="web", **extra)

    def create(self):
        self.networking.create_namespaced_ingress(self.namespace, ingress("web", "web"))
        self.networking.create_namespaced_ingress(self.namespace, ingress("other", "web-canary"))

    def read(self, name="web-canary"):
        return self.networking.read_namespaced_ingress(name, self.namespace).to_dict()

    def versions(self):
        return {i.metadata.name: i.metadata.resource_version
                for i in self.networking.list_namespaced_ingress(self.namespace).items}

    def patch(self, body):
        self.networking.patch_namespaced_ingress("web-canary", self.namespace, body)

    def written_weights(self):
        weight = int(self.read()["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"])
        return {"web": 100 - weight, "web-canary": weight}


class ServiceCase(Case):
    """Blue-green: the Service web-active selects web's or web-canary's pods."""

    router = "service"
    weights = (100, 0)  # the only weights besides 0 it takes

    def __init__(self, api_client, namespace):
        super().__init__(api_client, namespace)
        self.core = client.CoreV1Api(api_client)

    def args(self, **extra):
        return super().args(service={"active_service": "web-active"}, **extra)

    def create(self):
        self.core.create_namespaced_service(self.namespace, service("web-active", {APP: "web", VERSION: "1.0"}))

    def read(self, name="web-active"):
        return self.core.read_namespaced_service(name, self.namespace).to_dict()

    def versions(self):
        return {s.metadata.name: s.metadata.resource_version
                for s in self.core.list_namespaced_service(self.namespace).items}

    def patch(self, body):
        self.core.patch_namespaced_service("web-active", self.namespace, body)

    def written_weights(self):
        canary = self.read()["spec"]["selector"][VERSION] == "2.0"
        return {"web": 0 if canary else 100, "web-canary": 100 if canary else 0}


class ReplicasCase(Case):
    """No router: the Deployments' replicas, four in all."""

    router = "replicas"
    weights = (75, 0)

    def __init__(self, api_client, namespace):
        super().__init__(api_client, namespace)
        self.apps = client.AppsV1Api(api_client)

    def args(self, **extra):
        return dict({"router": "replicas", "namespace": self.namespace, "stable": "web-v1", "canary": "web-v2",
                     "replicas": {"total": 4}}, **extra)

    def initial(self):
        return {"web-v1": 50, "web-v2": 50}  # one replica each, so the canary's readiness is judged

    def ready_after_first_switch(self, ready):
        return ready["web-v1"] == 1 and ready["web-v2"] >= 1  # two more canary pods on their way

    def create(self):
        """The Deployments are the whole setup."""

    def read(self, name="web-v2"):
        return self.apps.read_namespaced_deployment(name, self.namespace).to_dict()

    def versions(self):
        # The Deployment controller keeps writing status, which moves resourceVersion; only a
        # write to the spec (what the router would do) moves the generation.
        return {d.metadata.name: d.metadata.generation
                for d in self.apps.list_namespaced_deployment(self.namespace).items}

    def patch(self, body):
        self.apps.patch_namespaced_deployment("web-v2", self.namespace, body)

    def written_weights(self):
        stable, canary = (self.read(name)["spec"]["replicas"] for name in ("web-v1", "web-v2"))
        return {"web-v1": 100 * stable // (stable + canary), "web-v2": 100 * canary // (stable + canary)}


CASES = {case.router: case
         for case in (GatewayApiCase, IstioCase, OpenShiftRouteCase, NginxCase, ServiceCase, ReplicasCase)}
