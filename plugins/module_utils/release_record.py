# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release record: a ConfigMap <app>-release holding the current release as JSON and the last
few releases before it, so that a later run can promote, abort, resume or report a release."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import re

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    update_with_conflict_retry,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import (
    APPLICATION_OPTIONS,
    VERSION_LABEL,
    app_labels,
    check_app_name,
    check_label,
    label_selector,
)


RECORD_SUFFIX = "-release"
CURRENT_KEY = "release.json"
HISTORY_KEY = "history.json"
PHASES = ("progressing", "paused", "promoted", "aborted", "rolled_back")
FINISHED_PHASES = ("promoted", "aborted", "rolled_back")
GATE_VERDICTS = ("Successful", "Inconclusive", "Failed", "Error")
# Fields a run may set; anything else is refused, so nothing unexpected (a secret) lands in a
# ConfigMap that every reader of the namespace can read.
FIELDS = ("strategy", "version", "phase", "step", "stable_revision", "stable_images", "new_revision",
          "new_images", "config", "details")
SECRET_LOOKING = re.compile(r"pass|secret|token|credential|api.?key|private.?key|auth", re.IGNORECASE)


def record_name(app):
    return app + RECORD_SUFFIX


def timestamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_no_secrets(module, params):
    """Refuses details whose keys look like credentials, before anything is written."""
    for key in sorted((params.get("details") or {}).keys()):
        if SECRET_LOOKING.search(key):
            module.fail("details must not hold secrets: the release record is a ConfigMap; remove %r" % key)


def decode(config_map):
    """(current release or None, history list) from the ConfigMap (or None)."""
    data = (config_map or {}).get("data") or {}
    current = json.loads(data[CURRENT_KEY]) if data.get(CURRENT_KEY) else None
    return current, json.loads(data.get(HISTORY_KEY) or "[]")


def _text(value):
    return None if value is None else str(value)


def requested_changes(params):
    """The fields this run sets (None means leave as is), with values as they are stored."""
    changes = {}
    for field in FIELDS:
        value = params.get(field)
        if value is None:
            continue
        if isinstance(value, dict):
            value = dict((str(k), _text(v)) for k, v in value.items())
        else:
            value = _text(value)
        changes[field] = value
    return changes


def updated_release(current, history, app, release_id, changes, gate, history_limit, now):
    """(release, history) after this run, or None when nothing but the update time would change.

    A release_id other than the current one starts a new release and moves the current one to the
    front of the history, which keeps at most history_limit entries. Without release_id the
    current release is updated (or a new one started, with an id made from the time, if none is).
    """
    stamp = timestamp(now)
    if current is None or (release_id and release_id != current.get("id")):
        release = {"id": release_id or "%s-%s" % (app, now.strftime("%Y%m%dT%H%M%SZ")), "app": app,
                   "phase": "progressing", "started": stamp, "finished": None, "gate": None}
        new_history = ([current] if current else []) + history
    else:
        release = copy.deepcopy(current)
        new_history = list(history)
    new_history = new_history[:history_limit]
    changes = dict(changes)
    if "details" in changes:
        release["details"] = dict(release.get("details") or {}, **changes.pop("details"))
    release.update(changes)
    previous_gate = release.get("gate") or {}
    if gate["verdict"] is not None and (previous_gate.get("verdict"), previous_gate.get("message")) != (
            gate["verdict"], gate["message"]):
        release["gate"] = {"verdict": gate["verdict"], "message": gate["message"], "time": stamp}
    # A release is finished once it reaches a final phase; the time it first did is kept.
    release["finished"] = (release.get("finished") or stamp) if release["phase"] in FINISHED_PHASES else None
    if current is not None and new_history == history and dict(release, updated=None) == dict(current, updated=None):
        return None
    release["updated"] = stamp
    return release, new_history


def encode(app, config_map, release, history):
    body = copy.deepcopy(config_map) if config_map else {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": record_name(app), "labels": app_labels(app)}}
    body["data"] = {CURRENT_KEY: json.dumps(release, sort_keys=True, indent=1),
                    HISTORY_KEY: json.dumps(history, sort_keys=True, indent=1)}
    return body


def read_record(module, app, namespace):
    """The record's ConfigMap as JSON, or None when the application has none."""
    try:
        return module.client.get("v1", "configmaps", namespace, record_name(app))
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def run_release_record(module):
    params = module.params
    app, namespace = params["app"], params["namespace"]
    check_app_name(module, app)
    check_no_secrets(module, params)
    if params["history_limit"] < 0:
        module.fail("history_limit must be 0 or more, got %d" % params["history_limit"])
    name = record_name(app)
    now = datetime.datetime.now(datetime.timezone.utc)
    gate = {"verdict": params["gate_verdict"], "message": params["gate_message"]}
    changes = requested_changes(params)

    def compute(config_map):
        if params["state"] == "absent":
            return config_map
        current, history = decode(config_map)
        updated = updated_release(current, history, app, params["release_id"], changes, gate,
                                  params["history_limit"], now)
        return encode(app, config_map, *updated) if updated else None

    def write(desired):
        if params["state"] == "absent":
            module.client.delete("v1", "configmaps", namespace, name, dry_run=module.dry_run,
                                 resource_version=desired["metadata"]["resourceVersion"])
            return {}
        if desired["metadata"].get("resourceVersion"):
            return module.client.replace("v1", "configmaps", namespace, name, desired, dry_run=module.dry_run)
        return module.client.create("v1", "configmaps", namespace, desired, dry_run=module.dry_run)

    before, written = update_with_conflict_retry(lambda: read_record(module, app, namespace), compute, write)
    after = before if written is None else written
    release, history = decode(after)
    result = {"changed": written is not None, "config_map": name, "namespace": namespace,
              "release": release, "history": history}
    if module.diff_mode:
        old_release, old_history = decode(before)
        result["diff"] = {"before": {"release": old_release, "history": old_history},
                          "after": {"release": release, "history": history}}
    return result


def read_traffic(module, service, namespace):
    """The Service and the Deployments its selector matches: what users of the application reach."""
    try:
        selector = module.client.get("v1", "services", namespace, service).get("spec", {}).get("selector") or {}
    except ApiError as error:
        if error.status == 404:
            return {"service": "", "selector": {}, "deployments": []}
        raise
    selected = module.client.list("apps/v1", "deployments", namespace,
                                  label_selector=label_selector(selector))["items"] if selector else []
    deployments = [{"name": deployment["metadata"]["name"],
                    "version": deployment["metadata"].get("labels", {}).get(VERSION_LABEL, ""),
                    "replicas": deployment["spec"].get("replicas", 1)} for deployment in selected]
    return {"service": service, "selector": selector, "deployments": sorted(deployments, key=lambda d: d["name"])}


RELEASE_INFO_SPEC = dict(APPLICATION_OPTIONS, service=dict(type="str"))


def run_release_info(module):
    params = module.params
    check_app_name(module, params["app"])
    if params["service"] is not None:
        check_label(module, "service", params["service"])
    release, history = decode(read_record(module, params["app"], params["namespace"]))
    result = {"changed": False, "config_map": record_name(params["app"]), "namespace": params["namespace"],
              "exists": release is not None, "release": release, "history": history}
    if params["service"] is not None:
        result["traffic"] = read_traffic(module, params["service"], params["namespace"])
    return result
