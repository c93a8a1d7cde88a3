"""A stand-in for KubeModule with just the parameters: the routers' pure methods need no API."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.traffic import SWITCH_OPTIONS


class ParamsOnly:
    check_mode = False
    dry_run = None

    def __init__(self, **params):
        self.params = dict.fromkeys(SWITCH_OPTIONS)
        self.params.update(namespace="shop", stable="web-stable", canary="web-canary")
        self.params.update(params)


@pytest.fixture()
def module():
    return ParamsOnly
