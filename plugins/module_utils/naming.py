# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of the objects that belong to an application (its release lock, its release record)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MANAGED_BY = "terragonlabs.progressive_delivery"
# The application's name is the value of app.kubernetes.io/name, so a DNS-1123 label.
_APP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_app_name(module, app):
    if not _APP_NAME.match(app or ""):
        module.fail("app must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 "
                    "characters), got %r" % app)


def app_labels(app):
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": MANAGED_BY}
