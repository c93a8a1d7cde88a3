# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What traffic_switch and traffic_info do with any router: check the request, read, compute,
refuse to send traffic to a backend without ready endpoints, write with conflict retry, and
verify by reading back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    update_with_conflict_retry,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.factory import (
    ROUTERS,
    make_router,
)

ROUTER_OPTIONS = dict(
    router=dict(type="str", required=True, choices=sorted(ROUTERS)),
    namespace=dict(type="str", required=True),
    stable=dict(type="str", required=True),
    canary=dict(type="str", required=True),
    route=dict(type="str"),
    route_rule=dict(type="str"),
    istio=dict(type="dict", options=dict(
        destination_rule=dict(type="str", required=True),
        stable_labels=dict(type="dict"),
        canary_labels=dict(type="dict"),
    )),
    nginx=dict(type="dict", options=dict(canary_ingress=dict(type="str"))),
    service=dict(type="dict", options=dict(
        active_service=dict(type="str", required=True),
        stable_selector=dict(type="dict"),
        canary_selector=dict(type="dict"),
    )),
    replicas=dict(type="dict", options=dict(total=dict(type="int", required=True))),
)
ROUTER_REQUIRED_IF = [("router", "service", ["service"]), ("router", "replicas", ["replicas"])]

SWITCH_OPTIONS = dict(
    ROUTER_OPTIONS,
    weight=dict(type="int"),
    header_route=dict(type="dict", options=dict(headers=dict(type="dict"), cookie=dict(type="str"))),
    mirror=dict(type="int"),
    remove_managed_routes=dict(type="bool", default=False),
    require_ready_endpoints=dict(type="bool", default=True),
)


def check_backends(module):
    params = module.params
    if params["stable"] == params["canary"]:
        module.fail("stable and canary must name different backends, both are %s" % params["stable"])
    if params["router"] == "replicas" and params["replicas"]["total"] < 1:
        module.fail("replicas.total must be 1 or more, got %d" % params["replicas"]["total"])


def switch_request(module):
    """The request as the routers take it, after checking every value; fails naming the parameter."""
    params = module.params
    check_backends(module)
    # Not required_one_of: remove_managed_routes' default (false) would satisfy it, asking nothing.
    if all(params[name] is None for name in ("weight", "header_route", "mirror")) \
            and not params["remove_managed_routes"]:
        module.fail("one of weight, header_route, mirror or remove_managed_routes=true is required")
    for name in ("weight", "mirror"):
        if params[name] is not None and not 0 <= params[name] <= 100:
            module.fail("%s must be between 0 and 100, got %d" % (name, params[name]))
    header_route = params["header_route"]
    if header_route is not None:
        header_route = {"headers": dict(header_route.get("headers") or {}), "cookie": header_route.get("cookie")}
        if not header_route["headers"] and not header_route["cookie"]:
            module.fail("header_route needs headers or a cookie")
        if header_route["cookie"] and "=" not in header_route["cookie"]:
            module.fail("header_route.cookie must be name=value, got %s" % header_route["cookie"])
    return {"weight": params["weight"], "header_route": header_route, "mirror": params["mirror"],
            "remove_managed_routes": params["remove_managed_routes"]}


def refuse_unready(module, router, desired):
    for backend in sorted(router.receivers(desired)):
        if router.ready_endpoints(backend) == 0:
            module.fail("backend %s has no ready endpoints; refusing to send it traffic "
                        "(require_ready_endpoints=false overrides this)" % backend)


def switch(module):
    request = switch_request(module)
    router = make_router(module)
    first_read = [router.read()]

    def read():
        return first_read.pop() if first_read else router.read()

    def compute(live):
        desired = router.desired(live, request)
        if desired == live:
            return None
        if module.params["require_ready_endpoints"]:
            refuse_unready(module, router, desired)
        return desired

    live, written = update_with_conflict_retry(read, compute, router.write)
    before = router.state(live)
    after = router.state(written) if written is not None else before
    if written is None:
        verified = True  # what was just read already matches the request
    elif module.check_mode:
        verified = False
    else:
        verified = router.state(router.read()) == after
    result = {"changed": written is not None, "router": router.name, "before": before, "after": after,
              "verified": verified}
    if module.diff_mode:
        result["diff"] = {"before": before, "after": after}
    return result


def info(module):
    check_backends(module)
    router = make_router(module)
    state = router.state(router.read())
    ready = dict((backend, router.ready_endpoints(backend)) for backend in (router.stable, router.canary))
    return dict(state, changed=False, router=router.name, ready_endpoints=ready)
