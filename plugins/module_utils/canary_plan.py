# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The canary strategy's plan: Argo-shaped canary steps checked, and what each one does - its weight
and the canary's size after it - so that any step can be resumed from the one before it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re


class PlanError(ValueError):
    """Steps that cannot be planned, with the parameter named."""


STEP_TYPES = ("set_weight", "pause", "analysis", "set_canary_scale", "set_header_route", "set_mirror_route")
# traffic_switch supports header routes and mirroring only through these routers.
ROUTE_ROUTERS = ("istio", "gateway_api")
ROUTERS = ("istio", "gateway_api", "nginx", "openshift_route", "replicas")
DURATION = re.compile(r"^(\d+)(s|m|h)?$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def _fail(index, message):
    raise PlanError("canary_steps[%d]: %s" % (index, message))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _percent(index, where, value):
    if not _is_int(value) or not 0 <= value <= 100:
        _fail(index, "%s must be an integer from 0 to 100, got %r" % (where, value))
    return value


def _options(index, step_type, config, allowed):
    if config is None:
        config = {}
    if not isinstance(config, dict):
        _fail(index, "%s must be a mapping, got %r" % (step_type, config))
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        _fail(index, "%s does not take %s (it takes %s)" % (step_type, ", ".join(unknown), ", ".join(allowed)))
    return config


def _duration(index, value):
    """Seconds of a pause: an integer, or a string such as 30s, 5m, 1h (Argo's form)."""
    if _is_int(value) and value >= 0:
        return value
    match = DURATION.match(value) if isinstance(value, str) else None
    if not match:
        _fail(index, "pause.duration must be seconds (an integer) or a string such as 30s, 5m or 1h, got %r" % (value,))
    return int(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]


def _check_router(index, step_type, router):
    if router not in ROUTE_ROUTERS:
        _fail(index, "%s needs the istio or gateway_api router, not %s" % (step_type, router))


def _route_name(index, step_type, config):
    """The step's name, a label only: the router keeps one managed header route and one mirror per
    application, so Argo's required name has nothing to pick here and may be left out."""
    name = config.get("name", step_type)
    if not isinstance(name, str) or not name:
        _fail(index, "%s.name must be a non-empty string when given" % step_type)
    return name


def _header_route(index, config, router):
    config = _options(index, "set_header_route", config, ("name", "match"))
    _check_router(index, "set_header_route", router)
    name = _route_name(index, "set_header_route", config)
    matches = config.get("match") or []
    if not isinstance(matches, list):
        _fail(index, "set_header_route.match must be a list")
    headers, cookie = {}, None
    for position, match in enumerate(matches):
        where = "set_header_route.match[%d]" % position
        if not isinstance(match, dict) or not isinstance(match.get("header_name"), str):
            _fail(index, "%s needs header_name and header_value" % where)
        value = match.get("header_value")
        if not isinstance(value, dict) or list(value) != ["exact"] or not isinstance(value["exact"], str):
            # traffic_switch writes exact header matches (a cookie as a pattern of its own).
            _fail(index, "%s.header_value must be {exact: VALUE}; prefix and regex matches are not supported" % where)
        if match["header_name"].lower() == "cookie":
            if "=" not in value["exact"]:
                _fail(index, "%s matches the Cookie header, whose value must be NAME=VALUE" % where)
            cookie = value["exact"]
        else:
            headers[match["header_name"]] = value["exact"]
    # No match removes the route, as in Argo Rollouts.
    return {"name": name, "headers": headers, "cookie": cookie}


def _mirror_route(index, config, router):
    config = _options(index, "set_mirror_route", config, ("name", "percentage", "match"))
    _check_router(index, "set_mirror_route", router)
    name = _route_name(index, "set_mirror_route", config)
    if config.get("match"):
        _fail(index, "set_mirror_route.match is not supported: traffic_switch mirrors a share of all requests")
    return {"name": name, "percentage": _percent(index, "set_mirror_route.percentage", config.get("percentage", 100))}


def _canary_scale(index, config, router):
    config = _options(index, "set_canary_scale", config, ("replicas", "weight", "match_traffic_weight"))
    if router == "replicas":
        _fail(index, "set_canary_scale needs a traffic router: with the replicas router the replica counts are the weight")
    if len(config) != 1:
        _fail(index, "set_canary_scale takes exactly one of replicas, weight, match_traffic_weight")
    if "replicas" in config:
        if not _is_int(config["replicas"]) or config["replicas"] < 0:
            _fail(index, "set_canary_scale.replicas must be a non-negative integer, got %r" % (config["replicas"],))
        return {"replicas": config["replicas"]}
    if "weight" in config:
        return {"weight": _percent(index, "set_canary_scale.weight", config["weight"])}
    if config["match_traffic_weight"] is not True:
        _fail(index, "set_canary_scale.match_traffic_weight must be true")
    return {"match_traffic_weight": True}


def _analysis(index, config):
    config = _options(index, "analysis", config, ("templates", "metrics"))
    templates, metrics = config.get("templates") or [], config.get("metrics") or []
    if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
        _fail(index, "analysis.templates must be a list of template names")
    if not isinstance(metrics, list) or not all(isinstance(m, dict) and m.get("name") for m in metrics):
        _fail(index, "analysis.metrics must be a list of metric_gate metrics, each with a name")
    if not templates and not metrics:
        _fail(index, "analysis needs templates or metrics")
    return {"templates": templates, "metrics": metrics}


def _replicas_for(total, weight):
    return int(math.ceil(total * weight / 100.0))


def step_summary(entry, replicas):
    """What a planned step does, in a line, for the plan check mode shows and the play's progress."""
    step_type = entry["type"]
    if step_type == "pause":
        return ("pause %ss" % entry["duration"] if entry["duration"] is not None
                else "pause until playbooks/promote.yml or playbooks/abort.yml")
    if step_type == "analysis":
        return "analysis of %s (Failed or Error aborts, Inconclusive pauses)" % ", ".join(
            entry["templates"] + [metric["name"] for metric in entry["metrics"]])
    if step_type == "set_header_route":
        matches = ["%s: %s" % item for item in sorted(entry["headers"].items())]
        matches += ["cookie %s" % entry["cookie"]] if entry["cookie"] else []
        return ("requests with %s to the canary" % " or ".join(matches) if matches
                else "header route removed")
    if step_type == "set_mirror_route":
        return "a copy of %d%% of requests to the canary" % entry["percentage"]
    return "%d%% of traffic to the canary, %d of %d replicas" % (entry["weight"], entry["canary_replicas"], replicas)


def canary_plan(steps, router, replicas):
    """Checks the steps and returns one entry per step: what it does, the weight and the canary's
    replicas in force after it, so that any step can be resumed from the one before it."""
    if router not in ROUTERS:
        raise PlanError("canary_router must be one of %s, got %r" % (", ".join(ROUTERS), router))
    if not isinstance(steps, list):
        raise PlanError("canary_steps must be a list of steps, got %r" % (steps,))
    if not _is_int(replicas) or replicas < 1:
        raise PlanError("canary_replicas must be a positive integer, got %r" % (replicas,))
    plan, weight, scale, header_route = [], 0, {"match_traffic_weight": True}, False
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or len(step) != 1 or list(step)[0] not in STEP_TYPES:
            _fail(index, "unknown step %r; a step is a mapping with one of %s" % (step, ", ".join(STEP_TYPES)))
        step_type, config = list(step.items())[0]
        entry = {"index": index, "type": step_type}
        if step_type == "set_weight":
            weight = _percent(index, "set_weight", config)
        elif step_type == "pause":
            config = _options(index, "pause", config, ("duration",))
            entry["duration"] = None if config.get("duration") is None else _duration(index, config["duration"])
        elif step_type == "analysis":
            entry.update(_analysis(index, config))
        elif step_type == "set_canary_scale":
            scale = _canary_scale(index, config, router)
        elif step_type == "set_header_route":
            entry.update(_header_route(index, config, router))
            header_route = bool(entry["headers"] or entry["cookie"])
        else:
            entry.update(_mirror_route(index, config, router))
        if "replicas" in scale:
            canary_replicas = scale["replicas"]
        else:
            canary_replicas = _replicas_for(replicas, scale.get("weight", weight))
        if canary_replicas == 0 and (weight > 0 or header_route):
            _fail(index, "the canary would have no replicas while it takes %s"
                  % ("%d%% of traffic" % weight if weight else "the header route's requests"))
        entry.update(weight=weight, canary_replicas=canary_replicas)
        entry["summary"] = step_summary(entry, replicas)
        plan.append(entry)
    return plan
