# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names: of the objects that belong to an application (its release lock, its release record), and
the Kubernetes rules every namespace and object name a module is given must follow."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MANAGED_BY = "terragonlabs.progressive_delivery"
VERSION_LABEL = "app.kubernetes.io/version"
# The application's name is the value of app.kubernetes.io/name, so a DNS-1123 label.
_APP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_LABEL = _APP_NAME
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A release version is an image tag and the value of the app.kubernetes.io/version label, so both
# rules hold: letters, digits, '.', '_' and '-', starting and ending with a letter or digit, at most
# 63 characters.
_RELEASE_VERSION = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?")
# The options of a module that reads or writes an application's release state (its record, lock,
# guard), documented once by the application doc fragment.
APPLICATION_OPTIONS = dict(
    app=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
)


def is_release_version(value):
    """Whether value can be both an image tag and a label value. Integers pass as their digits (a
    bare 2 given as JSON); a float does not, since 1.10 would arrive as 1.1."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return bool(_RELEASE_VERSION.fullmatch(str(value)))


def check_app_name(module, app):
    check_label(module, "app", app)


def check_label(module, parameter, value):
    if not _DNS_LABEL.match(value or ""):
        module.fail("%s must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 "
                    "characters), got %r" % (parameter, value))


def name_errors(params):
    """Messages for a malformed namespace (a DNS-1123 label) or object name (a DNS-1123 subdomain)
    among a module's top-level parameters, so bad input is refused naming the parameter rather
    than as an API server 404 that names neither."""
    errors = []
    namespace, name = params.get("namespace"), params.get("name")
    if namespace is not None and not _DNS_LABEL.match(namespace):
        errors.append("namespace must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 "
                      "characters), got %r" % namespace)
    if name is not None and not _DNS_SUBDOMAIN.match(name):
        errors.append("name must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most "
                      "253 characters), got %r" % name)
    return errors


def app_labels(app):
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": MANAGED_BY}


def label_selector(labels):
    """A labelSelector query that matches every one of labels."""
    return ",".join("%s=%s" % item for item in sorted(labels.items()))
