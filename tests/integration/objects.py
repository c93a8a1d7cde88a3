"""Kubernetes objects the integration tests create, and checks on them."""

APP = "app.kubernetes.io/name"
VERSION = "app.kubernetes.io/version"


def deployment(name, app, version, replicas=3, annotations=None, progress_deadline=600):
    labels = {APP: app, VERSION: version}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas, "progressDeadlineSeconds": progress_deadline,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {
                    # The local cluster's nodes remove a deleted pod when its grace ends, as a kubelet
                    # would at the latest: StatefulSets and DaemonSets replace pods one at a time.
                    "terminationGracePeriodSeconds": 1,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "app", "image": f"ghcr.io/terragonlabs/{app}:{version}",
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }


def statefulset(name, app, version, replicas=2):
    """A StatefulSet with the same pod template as deployment()."""
    spec = deployment(name, app, version, replicas=replicas)["spec"]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"serviceName": name, "replicas": replicas, "selector": spec["selector"],
                     "template": spec["template"]}}


def service(name, selector):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": 80,
                                                      "targetPort": "http"}]}}


def rolled_out(apps, namespace, name, replicas):
    d = apps.read_namespaced_deployment(name, namespace)
    s = d.status
    return (s.observed_generation == d.metadata.generation and s.updated_replicas == replicas
            and s.ready_replicas == replicas and s.available_replicas == replicas
            and (s.replicas or 0) == replicas) and d


def http_route(name, backend):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": name},
            "spec": {"hostnames": [f"{name}.example"],
                     "rules": [{"backendRefs": [{"name": backend, "port": 80}]}]}}


def virtual_service(name, backend):
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name},
            "spec": {"hosts": [backend], "http": [{"name": "primary", "route": [
                {"destination": {"host": backend, "port": {"number": 80}}}]}]}}


def ingress(name, backend):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": f"{name}.example", "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}}


def openshift_route(name, backend):
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": name},
            "spec": {"host": f"{name}.example", "to": {"kind": "Service", "name": backend}}}
