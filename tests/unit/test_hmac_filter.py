"""The webhook signature filter, against RFC 4231's HMAC-SHA256 test vector."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.terragonlabs.progressive_delivery.plugins.filter.hmac_sha256 import FilterModule, hmac_sha256


def test_it_matches_rfc_4231_test_case_2():
    assert hmac_sha256("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_it_signs_the_utf8_bytes():
    assert hmac_sha256('{"message": "déployé"}', "k") != hmac_sha256('{"message": "deploye"}', "k")


@pytest.mark.parametrize("text, key", [("body", ""), ("body", None), ({"not": "text"}, "key")])
def test_an_empty_key_or_non_text_is_refused(text, key):
    with pytest.raises(AnsibleFilterError, match="non-empty string key"):
        hmac_sha256(text, key)


def test_it_is_registered_under_its_name():
    assert FilterModule().filters() == {"hmac_sha256": hmac_sha256}
