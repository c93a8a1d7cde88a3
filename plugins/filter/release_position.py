# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter: where a blue-green release stands, from its record and the cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_position import (
    blue_green_position,
)


class FilterModule(object):
    def filters(self):
        return {"blue_green_position": blue_green_position}
