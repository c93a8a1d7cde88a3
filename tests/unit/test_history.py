"""Revision history and what an undo writes, on hand-made ReplicaSets and ControllerRevisions."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import history

OWNER = {"metadata": {"name": "web", "uid": "u1", "annotations": {"team": "ml", history.CHANGE_CAUSE_ANNOTATION: "2.0"}},
         "spec": {"template": {"metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                               "spec": {"containers": [{"name": "app", "image": "web:2"}]}}}}


def template(image, hash_label=None):
    labels = {"app": "web"}
    if hash_label:
        labels[history.POD_TEMPLATE_HASH_LABEL] = hash_label
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}


def replica_set(revision, image, owner_uid="u1", cause=None):
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if cause:
        annotations[history.CHANGE_CAUSE_ANNOTATION] = cause
    return {"metadata": {"name": "web-%s" % revision, "annotations": annotations,
                         "creationTimestamp": "2026-01-%02dT00:00:00Z" % revision,
                         "ownerReferences": [{"controller": True, "uid": owner_uid}]},
            "spec": {"template": template(image, hash_label="h%s" % revision)}}


def test_deployment_history_keeps_owned_replica_sets_in_revision_order():
    entries = history.deployment_history(OWNER, [
        replica_set(10, "web:10"), replica_set(2, "web:2", cause="2.0"), replica_set(1, "web:1", owner_uid="other")])
    assert history.public_history(entries) == [
        {"revision": 2, "images": {"app": "web:2"}, "change_cause": "2.0", "creation_time": "2026-01-02T00:00:00Z"},
        {"revision": 10, "images": {"app": "web:10"}, "change_cause": None, "creation_time": "2026-01-10T00:00:00Z"}]
    assert history.POD_TEMPLATE_HASH_LABEL not in entries[0]["template"]["metadata"]["labels"]


def test_controller_revision_history_reads_the_template_patch():
    revision = {"metadata": {"name": "store-abc", "ownerReferences": [{"controller": True, "uid": "u1"}]},
                "revision": 3, "data": {"spec": {"template": dict(template("store:3"), **{"$patch": "replace"})}}}
    entries = history.controller_revision_history(OWNER, [revision])
    assert entries[0]["revision"] == 3 and entries[0]["template"] == template("store:3")


@pytest.mark.parametrize("to_revision, expected", [(0, 2), (1, 1), (3, 3)])
def test_choose_revision(to_revision, expected):
    entries = [{"revision": n} for n in (1, 2, 3)]
    assert history.choose_revision(entries, to_revision)["revision"] == expected


@pytest.mark.parametrize("entries, to_revision, message", [
    ([{"revision": 4}], 0, "there is no previous revision to undo to (revisions: 4)"),
    ([], 0, "there is no previous revision to undo to (revisions: none)"),
    ([{"revision": 1}, {"revision": 2}], 7, "revision 7 does not exist (revisions: 1, 2)"),
])
def test_a_missing_revision_is_an_error(entries, to_revision, message):
    with pytest.raises(history.RevisionNotFound, match=r"^%s$" % message.replace("(", r"\(").replace(")", r"\)")):
        history.choose_revision(entries, to_revision)


def test_undo_replaces_the_template_and_change_cause_only():
    entry = history.deployment_history(OWNER, [replica_set(1, "web:1", cause="1.0")])[0]
    desired = history.undone(OWNER, entry)
    assert desired["spec"]["template"] == template("web:1")
    assert desired["metadata"]["annotations"] == {"team": "ml", history.CHANGE_CAUSE_ANNOTATION: "1.0"}
    assert OWNER["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"


def test_undo_drops_a_change_cause_the_revision_did_not_have():
    entry = history.deployment_history(OWNER, [replica_set(1, "web:1")])[0]
    assert history.undone(OWNER, entry)["metadata"]["annotations"] == {"team": "ml"}


def test_undo_to_the_running_template_is_a_no_op():
    entry = history.deployment_history(OWNER, [replica_set(2, "web:2")])[0]
    assert history.undone(OWNER, entry) is None


def versioned(workload_version, template_version):
    """OWNER labelled with a version, running a template labelled with another (or none)."""
    labels = {"app": "web", history.VERSION_LABEL: workload_version}
    owner = dict(OWNER, metadata=dict(OWNER["metadata"], labels=labels))
    running = template("web:2")
    if template_version:
        running["metadata"]["labels"][history.VERSION_LABEL] = template_version
    return dict(owner, spec={"template": running})


def test_undo_gives_the_workload_the_restored_templates_version_label():
    restored = replica_set(1, "web:1")
    restored["spec"]["template"]["metadata"]["labels"][history.VERSION_LABEL] = "1.0"
    entry = history.deployment_history(OWNER, [restored])[0]
    desired = history.undone(versioned("2.0", "2.0"), entry)
    assert desired["metadata"]["labels"] == {"app": "web", history.VERSION_LABEL: "1.0"}
    # Running the restored template already, but labelled with the version undone: relabelled.
    running = dict(versioned("2.0", "1.0"), spec={"template": entry["template"]})
    assert history.undone(running, entry)["metadata"]["labels"][history.VERSION_LABEL] == "1.0"
    assert history.undone(dict(running, metadata=desired["metadata"]), entry) is None


def test_undo_leaves_the_version_label_when_the_template_names_none():
    entry = history.deployment_history(OWNER, [replica_set(1, "web:1")])[0]
    assert history.undone(versioned("2.0", None), entry)["metadata"]["labels"][history.VERSION_LABEL] == "2.0"
