# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: hmac_sha256
short_description: HMAC-SHA256 of a text, as lowercase hex
version_added: 0.1.0
author: Terragon Labs
description:
  - The HMAC-SHA256 of the UTF-8 bytes of the input, keyed with the UTF-8 bytes of O(key), as 64
    lowercase hex digits - what a webhook receiver compares with a C(sha256=HEX) signature header.
options:
  _input:
    description: The text to sign, exactly as it is sent.
    type: str
    required: true
  key:
    description: The shared secret.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Sign a webhook body
  ansible.builtin.set_fact:
    signature: "sha256={{ body | terragonlabs.progressive_delivery.hmac_sha256(webhook_secret) }}"
"""

RETURN = r"""
_value:
  description: The signature, 64 lowercase hex digits.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import notify


def hmac_sha256(text, key):
    if not isinstance(text, string_types) or not isinstance(key, string_types) or not key:
        raise AnsibleFilterError("hmac_sha256 signs a string with a non-empty string key")
    # The same signature as the webhook notifications carry (module_utils/notify.py).
    return notify.hmac_sha256(text, key)


class FilterModule(object):
    def filters(self):
        return {"hmac_sha256": hmac_sha256}
