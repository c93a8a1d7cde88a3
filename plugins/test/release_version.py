# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test: whether a value can be released as a version (an image tag and a label value)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import is_release_version


class TestModule(object):
    def tests(self):
        return {"release_version": is_release_version}
