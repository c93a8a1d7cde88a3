# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Any HTTP endpoint answering JSON; the value is picked with a JMESPath expression."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.http import parse_json
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    Sample,
    require_rendered,
    to_float,
)

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
except ImportError:
    HAS_JMESPATH = False
else:
    HAS_JMESPATH = True


class WebProvider(object):
    """Sends one request and reads the value at a JMESPath: a number (or numeric string) is one
    series, a list of numbers is one series per element (labelled with its index), null is empty."""

    def __init__(self, path, endpoint, value_path, method="GET", body=None):
        if not HAS_JMESPATH:
            raise GateConfigError("%s.jmespath needs the jmespath Python library" % path)
        if not value_path:
            raise GateConfigError("%s.jmespath is required for the web provider" % path)
        require_rendered("%s.jmespath" % path, value_path)
        try:
            self.expression = jmespath.compile(value_path)
        except JMESPathError as error:
            raise GateConfigError("%s.jmespath is not a valid JMESPath expression: %s" % (path, error))
        if isinstance(body, (dict, list)):
            body, self.headers = json.dumps(body), {"Content-Type": "application/json"}
        else:
            self.headers = {}
        self.body = require_rendered("%s.body" % path, body)
        self.endpoint, self.method, self.value_path = endpoint, method, value_path

    def fetch(self):
        status, raw = self.endpoint.send(method=self.method, body=self.body, headers=self.headers)
        if not 200 <= status < 300:
            raise ProviderError("%s answered HTTP %s: %r" % (self.method, status, raw[:200]))
        found = self.expression.search(parse_json(status, raw, "the endpoint"))
        if found is None:
            return []
        what = "the value at %s" % self.value_path
        if isinstance(found, list):
            return [Sample(to_float(item, "%s[%d]" % (what, index)), {"index": str(index)})
                    for index, item in enumerate(found)]
        return [Sample(to_float(found, what))]
