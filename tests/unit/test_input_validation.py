"""Bad input refused before any request: names, scalars where a dict is expected, and a switch
that asks for nothing."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
    without_scalar_suboptions,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import (
    is_release_version,
    name_errors,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.traffic import (
    SWITCH_OPTIONS,
    switch_request,
)


@pytest.mark.parametrize("namespace", ["shop", "a", "web-2", "x" * 63])
def test_valid_namespaces_pass(namespace):
    assert name_errors({"namespace": namespace, "name": "web.v1"}) == []


@pytest.mark.parametrize("namespace", ["", "Shop", "shop_1", "-shop", "shop-", "x" * 64, "a.b"])
def test_a_malformed_namespace_is_named(namespace):
    assert [e.split(" ")[0] for e in name_errors({"namespace": namespace})] == ["namespace"]


@pytest.mark.parametrize("name", ["", "Web", "web_1", "web.", ".web", "a" * 254, "web/1"])
def test_a_malformed_object_name_is_named(name):
    assert [e.split(" ")[0] for e in name_errors({"name": name, "namespace": "shop"})] == ["name"]


def test_absent_names_are_not_checked():
    assert name_errors({"namespace": None, "name": None}) == name_errors({}) == []


@pytest.mark.parametrize("version", ["1.0.0", "1", 2, "v2-rc.1", "2024.06.1", "1.0.0_build.7", "A" * 63])
def test_versions_that_are_image_tags_and_label_values_pass(version):
    assert is_release_version(version)


# An image tag allows none of a space, quotes, '$', '+' or '/' and at most 128 characters; a label
# value at most 63, starting and ending with a letter or digit.
@pytest.mark.parametrize("version", ["", "1.1 .0", '1.1"0', "1.1'0", "$(id)", "1.0.0+build", "release/1", "-1.0",
                                     "1.0.", "_1", "1" * 64, "1.0\n0", "1.0.0\n", 1.1, True, None, ["1.0"]])
def test_versions_that_cannot_be_tags_or_labels_are_refused(version):
    assert not is_release_version(version)


SPEC = {"metrics": {"type": "list", "elements": "dict", "options": {
    "name": {"type": "str"}, "success": {"type": "dict", "options": {"min": {"type": "float"}}}}},
    "prometheus": {"type": "dict", "options": {"url": {"type": "str"}}}}


def test_suboptions_stay_for_dicts_and_go_for_numbers_and_booleans():
    assert without_scalar_suboptions(SPEC, {"prometheus": {"url": "u"}, "metrics": [{"name": "m"}]}) == SPEC
    stripped = without_scalar_suboptions(SPEC, {"prometheus": True, "metrics": [{"name": "m"}, {"success": 5}]})
    assert "options" not in stripped["prometheus"] and "options" not in stripped["metrics"]["options"]["success"]
    assert stripped["metrics"]["options"]["name"] == {"type": "str"}
    assert "options" in SPEC["prometheus"]  # the module's own spec is left alone


class Params:
    def __init__(self, **params):
        self.params = dict.fromkeys(SWITCH_OPTIONS)
        self.params.update(router="gateway_api", namespace="shop", stable="web", canary="web-canary",
                           remove_managed_routes=False)
        self.params.update(params)

    @staticmethod
    def fail(msg, **result):
        raise ModuleFailure(msg, **result)


def test_a_switch_that_asks_for_nothing_is_refused():
    with pytest.raises(ModuleFailure, match="one of weight, header_route, mirror or remove_managed_routes=true"):
        switch_request(Params())
    assert switch_request(Params(remove_managed_routes=True))["remove_managed_routes"] is True
    assert switch_request(Params(weight=0))["weight"] == 0
