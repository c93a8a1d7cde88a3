import json

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    Resource,
    cookie_from_pattern,
    cookie_pattern,
    percentages,
)


class Answering:
    """A module whose client refuses every request with one status and body."""
    dry_run = None

    def __init__(self, status, body):
        self.status, self.body = status, body

    @property
    def client(self):
        return self

    def get(self, *address):
        raise ApiError(self.status, "Not Found", self.body)


def resource_answering(status, body):
    return Resource.custom(Answering(status, body), "HTTPRoute", "shop", "gateway.networking.k8s.io", "v1",
                           "httproutes")


def test_an_unknown_kind_means_the_crd_is_not_installed():
    with pytest.raises(ModuleFailure, match="^the HTTPRoute CustomResourceDefinition "
                                            "\\(httproutes.gateway.networking.k8s.io\\) is not installed"):
        resource_answering(404, "404 page not found\n").get("web", "route")


def test_a_missing_object_names_the_parameter():
    body = json.dumps({"reason": "NotFound", "details": {"name": "web", "kind": "httproutes"}})
    with pytest.raises(ModuleFailure, match="^HTTPRoute shop/web \\(route\\) does not exist$"):
        resource_answering(404, body).get("web", "route")


def test_percentages_of_raw_weights():
    assert percentages({"a": 1, "b": 1}) == {"a": 50, "b": 50}
    assert percentages({"a": 0, "b": 0}) == {"a": 0, "b": 0}
    assert percentages({"a": 256, "b": 0}) == {"a": 100, "b": 0}


def test_cookie_pattern_round_trips():
    assert cookie_from_pattern(cookie_pattern("canary.v=always")) == "canary.v=always"
    assert cookie_from_pattern("^something else$") is None
