"""Config copies: their names follow their content, they carry no more than their source's data,
and only the copies no recorded release names are pruned."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_config import (
    all_recorded_copies,
    check_entries,
    copy_name,
    copy_of,
    references,
    restored_copies,
    to_prune,
)

SETTINGS = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"MODE": "fast"},
            "metadata": {"name": "settings", "resourceVersion": "7", "uid": "u1", "labels": {"team": "a"}}}
CREDENTIALS = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"TOKEN": "czNjcjN0"},
               "metadata": {"name": "credentials"}}


def changed(source, **data):
    return dict(source, data=data)


@pytest.mark.parametrize("first, second, same", [
    (SETTINGS, dict(SETTINGS, metadata=dict(SETTINGS["metadata"], resourceVersion="8")), True),  # metadata only
    (SETTINGS, changed(SETTINGS, MODE="slow"), False),
    (SETTINGS, changed(SETTINGS, MODE="fast", EXTRA="1"), False),
    (CREDENTIALS, dict(CREDENTIALS, type="kubernetes.io/basic-auth"), False),
    # The same data as a Secret is another copy.
    (SETTINGS, dict(SETTINGS, kind="Secret"), False),
])
def test_copy_names_follow_the_content(first, second, same):
    assert (copy_name(first) == copy_name(second)) is same
    assert copy_name(first).startswith(first["metadata"]["name"] + "-")
    assert len(copy_name(first)) == len(first["metadata"]["name"]) + 11


def test_a_copy_is_immutable_labelled_and_holds_only_the_data():
    copy = copy_of(CREDENTIALS, "shop")
    assert copy == {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"TOKEN": "czNjcjN0"}, "immutable": True,
        "metadata": {"name": copy_name(CREDENTIALS),
                     "labels": {"app.kubernetes.io/name": "shop",
                                "app.kubernetes.io/managed-by": "terragonlabs.progressive_delivery",
                                "terragonlabs.io/release-config": "copy"},
                     "annotations": {"terragonlabs.io/config-source": "Secret/credentials"}}}
    assert "resourceVersion" not in copy_of(SETTINGS, "shop")["metadata"]


RELEASE = {"version": "1.2.0", "config": {"ConfigMap/settings": "settings-c"}}
HISTORY = [{"version": "1.1.0", "config": {"ConfigMap/settings": "settings-b", "Secret/credentials": "credentials-b"}},
           {"version": "1.0.0"},
           {"version": "1.1.0", "config": {"ConfigMap/settings": "settings-a"}}]


@pytest.mark.parametrize("version, expected", [
    (None, {"ConfigMap/settings": "settings-c"}),
    ("1.2.0", {"ConfigMap/settings": "settings-c"}),
    # The latest release of the version.
    ("1.1.0", {"ConfigMap/settings": "settings-b", "Secret/credentials": "credentials-b"}),
    # Released before any config was recorded, or never.
    ("1.0.0", {}),
    ("0.9.0", {}),
])
def test_restored_copies(version, expected):
    assert restored_copies(RELEASE, HISTORY, version) == expected


def test_restored_copies_without_a_record():
    assert restored_copies(None, [], None) == {}


def test_pruned_are_the_copies_no_release_names():
    keep = all_recorded_copies(RELEASE, HISTORY) | {"settings-d"}
    existing = [("configmaps", name) for name in ("settings-a", "settings-b", "settings-c", "settings-d",
                                                  "settings-old")] + [("secrets", "credentials-b"),
                                                                      ("secrets", "credentials-old")]
    assert to_prune(existing, keep) == [("configmaps", "settings-old"), ("secrets", "credentials-old")]


def test_references_follow_the_entries():
    entries = check_entries([{"name": "settings"}, {"kind": "Secret", "name": "credentials", "mount_path": "/etc/c"}],
                            "pd_app_config")
    copies = {"ConfigMap/settings": "settings-b", "Secret/credentials": "credentials-b"}
    assert references(entries, copies) == [{"config_map": "settings-b", "mount_path": None},
                                           {"secret": "credentials-b", "mount_path": "/etc/c"}]


@pytest.mark.parametrize("entry, message", [
    ({"kind": "Pod", "name": "x"}, "pd_app_config[0].kind must be ConfigMap or Secret"),
    ({"kind": "ConfigMap"}, "pd_app_config[0].name is required"),
    ({"name": "x", "mount_path": "etc/x"}, "pd_app_config[0].mount_path must be an absolute path"),
    ({"name": "x" * 243}, "pd_app_config[0].name 'xxx"),
])
def test_bad_entries_are_refused_naming_the_parameter(entry, message):
    with pytest.raises(ValueError) as error:
        check_entries([entry], "pd_app_config")
    assert message in str(error.value)
