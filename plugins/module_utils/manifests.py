# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An application's Kubernetes objects, built as data from its settings: the Services, the
Deployment, its PodDisruptionBudget, autoscaler and Ingress. The workload role applies them (through
the workload_objects filter) and the release engine builds each track's or color's with the same
function, so there is one renderer. Every value is placed in the objects as it is, never pasted into
text; str() and int() give each field the type Kubernetes expects, whatever type the variable came as
(`-e name=value` passes numbers as strings)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import (
    VERSION_LABEL,
    app_labels,
)

NAME_LABEL = "app.kubernetes.io/name"
# Runs in a namespace enforcing the Pod Security "restricted" profile.
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "runAsUser": 1001, "runAsGroup": 1001, "fsGroup": 1001,
                        "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                              "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
HTTP_PORTS = [{"name": "http", "port": 80, "targetPort": "http"}]
DEFAULT_CPU_UTILIZATION = 70


def service_object(app, settings):
    """A Service named settings["name"], selecting the application's pods and the labels of its own selector."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": str(settings["name"]), "labels": app_labels(app),
                         "annotations": dict(settings.get("annotations") or {})},
            "spec": {"selector": dict({NAME_LABEL: app}, **(settings.get("selector") or {})), "ports": HTTP_PORTS}}


def config_sources(config):
    """(envFrom, volumeMounts, volumes) of the ConfigMaps and Secrets the pods read: one without a
    mount path becomes environment variables; one with, a volume named by its index."""
    env, mounts, volumes = [], [], []
    for index, source in enumerate(config):
        if "secret" in source:
            reference, volume = {"secretRef": {"name": str(source["secret"])}}, {
                "secret": {"secretName": str(source["secret"])}}
        else:
            reference, volume = {"configMapRef": {"name": str(source["config_map"])}}, {
                "configMap": {"name": str(source["config_map"])}}
        if source.get("mount_path"):
            name = "config-%d" % index
            mounts.append({"name": name, "mountPath": str(source["mount_path"]), "readOnly": True})
            volumes.append(dict(volume, name=name))
        else:
            env.append(reference)
    return env, mounts, volumes


def deployment_object(app, name, version, image, replicas, port, health_path, resources, progress_deadline_seconds,
                      pod_labels, pod_annotations, config, max_surge, max_unavailable):
    selector = dict({NAME_LABEL: app}, **pod_labels)
    pod_version = dict(selector, **{VERSION_LABEL: str(version)})
    env, mounts, volumes = config_sources(config)
    probe = {"httpGet": {"path": str(health_path), "port": "http"}}
    container = {
        "name": "app", "image": str(image), "ports": [{"name": "http", "containerPort": int(port)}],
        "readinessProbe": dict(probe, initialDelaySeconds=10, periodSeconds=5),
        "livenessProbe": dict(probe, initialDelaySeconds=30, periodSeconds=10),
        "resources": resources, "securityContext": CONTAINER_SECURITY_CONTEXT,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}] + mounts,
    }
    if env:
        container["envFrom"] = env
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": str(name), "labels": dict(pod_version, **app_labels(app))},
        "spec": {
            "replicas": int(replicas), "progressDeadlineSeconds": int(progress_deadline_seconds),
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": pod_version, "annotations": pod_annotations},
                "spec": {"automountServiceAccountToken": False, "securityContext": POD_SECURITY_CONTEXT,
                         "containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}] + volumes},
            },
        },
    }


def disruption_budget(app, name, pod_labels, max_unavailable):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": str(name), "labels": app_labels(app)},
            "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": dict({NAME_LABEL: app}, **pod_labels)}}}


def autoscaler(app, name, hpa):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": str(name), "labels": app_labels(app)},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": str(name)},
                     "minReplicas": int(hpa["min_replicas"]), "maxReplicas": int(hpa["max_replicas"]),
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization",
                         "averageUtilization": int(hpa.get("cpu_utilization", DEFAULT_CPU_UTILIZATION))}}}]}}


def ingress_object(app, settings):
    spec = {"rules": [{"host": settings["host"], "http": {"paths": [{
        "path": settings.get("path", "/"), "pathType": "Prefix",
        "backend": {"service": {"name": str(settings.get("service", app)), "port": {"name": "http"}}}}]}}]}
    if "class_name" in settings:
        spec["ingressClassName"] = str(settings["class_name"])
    if "tls_secret" in settings:
        spec["tls"] = [{"hosts": [settings["host"]], "secretName": str(settings["tls_secret"])}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": str(settings.get("name", app)), "labels": app_labels(app),
                         "annotations": dict(settings.get("annotations") or {})},
            "spec": spec}


def workload_objects(name, deployment_name, version, image, replicas, port, health_path, resources,
                     progress_deadline_seconds, pod_labels, pod_annotations, services, config,
                     max_surge="25%", max_unavailable="25%", pdb_max_unavailable=1, hpa=None, ingress=None):
    """The objects of the application `name` in the order they are applied, Services first: its
    `services` (each a name, optional selector labels added to the application's, and annotations),
    its Deployment `deployment_name`, a PodDisruptionBudget when it has more than one replica, and an
    autoscaler (`hpa`) and an Ingress (`ingress`) when given."""
    app = str(name)
    pod_labels = dict(pod_labels)
    objects = [service_object(app, settings) for settings in services]
    objects.append(deployment_object(app, deployment_name, version, image, replicas, port, health_path, resources,
                                     progress_deadline_seconds, pod_labels, dict(pod_annotations), config,
                                     max_surge, max_unavailable))
    if int(replicas) > 1:
        objects.append(disruption_budget(app, deployment_name, pod_labels, pdb_max_unavailable))
    if hpa:
        objects.append(autoscaler(app, deployment_name, hpa))
    if ingress:
        objects.append(ingress_object(app, ingress))
    # Apart from the module's constants they hold, so that a caller changing one object changes no other.
    return copy.deepcopy(objects)
