# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Config that travels with a release: the ConfigMaps and Secrets an application names are copied,
immutable, under names carrying a hash of their content (<name>-<hash>), and the release's pods
reference the copies. A version's pods therefore keep the content they were released with - an
abort or a rollback brings it back with them - and the copies that no release of the record names
any more are deleted. Values are never returned: only names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import posixpath

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import (
    app_labels,
    check_app_name,
    label_selector,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import (
    decode,
    read_record,
)

KINDS = {"ConfigMap": "configmaps", "Secret": "secrets"}
COPY_LABEL = "terragonlabs.io/release-config"
SOURCE_ANNOTATION = "terragonlabs.io/config-source"
# The record's field with the copies of a release, {"<kind>/<source name>": "<copy name>"}.
RECORD_FIELD = "config"
HASH_LENGTH = 10
MAX_NAME = 253


def source_key(kind, name):
    return "%s/%s" % (kind, name)


def check_entries(entries, parameter):
    """The entries with their kind defaulted, or ValueError naming parameter[index]."""
    checked = []
    for index, entry in enumerate(entries or []):
        path = "%s[%d]" % (parameter, index)
        kind = entry.get("kind") or "ConfigMap"
        if kind not in KINDS:
            raise ValueError("%s.kind must be ConfigMap or Secret, got %r" % (path, kind))
        if not entry.get("name"):
            raise ValueError("%s.name is required: the %s the application reads" % (path, kind))
        mount_path = entry.get("mount_path")
        if mount_path is not None and not posixpath.isabs(str(mount_path)):
            raise ValueError("%s.mount_path must be an absolute path, got %r" % (path, mount_path))
        if len(entry["name"]) + 1 + HASH_LENGTH > MAX_NAME:
            raise ValueError("%s.name %r is too long for its copy's name (at most %d characters)"
                             % (path, entry["name"], MAX_NAME - 1 - HASH_LENGTH))
        checked.append({"kind": kind, "name": str(entry["name"]), "mount_path": mount_path})
    return checked


def content(source):
    """What a copy carries of its source: the data, and a Secret's type."""
    kept = dict((key, source[key]) for key in ("data", "binaryData", "stringData") if source.get(key))
    if source["kind"] == "Secret":
        kept["type"] = source.get("type") or "Opaque"
    return kept


def copy_name(source):
    """<name>-<hash of kind and content>: equal content, equal name, so a copy is made once."""
    digest = hashlib.sha256(json.dumps([source["kind"], content(source)], sort_keys=True).encode("utf-8"))
    return "%s-%s" % (source["metadata"]["name"], digest.hexdigest()[:HASH_LENGTH])


def copy_of(source, app):
    """The immutable copy of source, labelled as the application's release config."""
    return dict(content(source), apiVersion="v1", kind=source["kind"], immutable=True, metadata={
        "name": copy_name(source),
        "labels": dict(app_labels(app), **{COPY_LABEL: "copy"}),
        "annotations": {SOURCE_ANNOTATION: source_key(source["kind"], source["metadata"]["name"])}})


def all_recorded_copies(release, history):
    """The names of the copies any release of the record names."""
    return set(copy for entry in ([release] if release else []) + list(history or [])
               for copy in (entry.get(RECORD_FIELD) or {}).values())


def restored_copies(release, history, version=None):
    """{source key: copy name} of the latest release of version that recorded config (of the
    current release without version)."""
    if version is None:
        return dict((release or {}).get(RECORD_FIELD) or {})
    for entry in ([release] if release else []) + list(history or []):
        if entry.get("version") == version and entry.get(RECORD_FIELD):
            return dict(entry[RECORD_FIELD])
    return {}


def to_prune(existing, keep):
    """The existing copies (kind, name) that no release keeps, sorted."""
    return sorted(item for item in existing if item[1] not in keep)


def references(entries, copies):
    """How the workload's pods reference the copies (the workload role's workload_config)."""
    return [{"secret" if entry["kind"] == "Secret" else "config_map": copies[source_key(entry["kind"], entry["name"])],
             "mount_path": entry["mount_path"]} for entry in entries]


def run_release_config(module):
    params = module.params
    app, namespace = params["app"], params["namespace"]
    check_app_name(module, app)
    try:
        entries = check_entries(params["config"], params["parameter"])
    except ValueError as error:
        module.fail(str(error))
    release, history = decode(read_record(module, app, namespace))
    restored = restored_copies(release, history, params["version"]) if params["restore"] else {}
    # Every source is read before anything is written, so that a missing one changes nothing.
    copies, to_create, warnings = {}, [], []
    for index, entry in enumerate(entries):
        key = source_key(entry["kind"], entry["name"])
        plural = KINDS[entry["kind"]]
        if key in restored and _exists(module, plural, namespace, restored[key]):
            copies[key] = restored[key]
            continue
        if params["restore"]:
            warnings.append("%s %s recorded no copy of %s that still exists; its content now is released"
                            % (app, params["version"] or (release or {}).get("version"), key))
        try:
            source = module.client.get("v1", plural, namespace, entry["name"])
        except ApiError as error:
            if error.status == 404:
                module.fail("%s[%d]: %s %r does not exist in namespace %s" % (
                    params["parameter"], index, entry["kind"], entry["name"], namespace))
            raise
        body = copy_of(source, app)
        copies[key] = body["metadata"]["name"]
        if not _exists(module, plural, namespace, copies[key]):
            to_create.append((plural, body))
    created = []
    for plural, body in to_create:
        module.client.create("v1", plural, namespace, body, dry_run=module.dry_run)
        created.append(body["metadata"]["name"])
    keep = all_recorded_copies(release, history) | set(copies.values())
    existing = [(plural, item["metadata"]["name"]) for plural in sorted(set(KINDS.values()))
                for item in module.client.list("v1", plural, namespace, label_selector=label_selector(
                    dict(app_labels(app), **{COPY_LABEL: "copy"})))["items"]]
    pruned = to_prune(existing, keep)
    for plural, name in pruned:
        try:
            module.client.delete("v1", plural, namespace, name, dry_run=module.dry_run)
        except ApiError as error:
            if error.status != 404:
                raise
    for warning in warnings:
        module.ansible.warn(warning)
    result = {"changed": bool(created or pruned), "copies": copies, "references": references(entries, copies),
              "created": created, "pruned": [name for _kind, name in pruned]}
    if module.diff_mode:
        before = sorted(name for _kind, name in existing)
        result["diff"] = {"before": {"copies": before},
                          "after": {"copies": sorted(set(before) - set(result["pruned"]) | set(created))}}
    return result


def _exists(module, plural, namespace, name):
    try:
        module.client.get("v1", plural, namespace, name)
        return True
    except ApiError as error:
        if error.status == 404:
            return False
        raise
