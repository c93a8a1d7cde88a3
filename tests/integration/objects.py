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
