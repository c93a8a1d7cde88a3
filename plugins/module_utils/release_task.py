# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release module's arguments and its one call of the engine, shared by the module (run where
the task runs) and its action plugin (which runs the same call inside ansible's worker process
when the task runs on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.blue_green_engine import BlueGreen
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.canary_engine import Canary
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.options import (
    PROMETHEUS_OPTION,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rolling_engine import Rolling

STRATEGIES = {"canary": Canary, "blue_green": BlueGreen, "rolling": Rolling}

GATE = dict(type="dict", default={}, options=dict(
    templates=dict(type="list", elements="str", default=[]),
    metrics=dict(type="list", elements="dict", default=[]),
))

ARGUMENT_SPEC = dict(
    strategy=dict(type="str", choices=list(STRATEGIES), required=True),
    action=dict(type="str", choices=["run", "promote", "abort", "rollback"], default="run"),
    rollback_to=dict(type="int", default=0),
    app=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    version=dict(type="str"),
    image=dict(type="str"),
    replicas=dict(type="int", default=3),
    tracks=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        deployment=dict(type="str"),
        pod_labels=dict(type="dict", default={}),
        services=dict(type="list", elements="dict", default=[]),
    )),
    workload=dict(type="dict", options=dict(
        port=dict(type="int", required=True),
        health_path=dict(type="str", required=True),
        resources=dict(type="dict", required=True),
        pod_annotations=dict(type="dict", default={}),
        config=dict(type="list", elements="dict", default=[]),
    )),
    canary=dict(type="dict", options=dict(
        router=dict(type="str", choices=["istio", "gateway_api", "nginx", "openshift_route", "replicas"],
                    default="replicas"),
        route=dict(type="str"),
        route_object=dict(type="dict"),
        stable_service=dict(type="str", required=True),
        canary_service=dict(type="str", required=True),
        steps=dict(type="list", elements="dict", default=[]),
        background_analysis=dict(type="dict", default={}),
        full=dict(type="bool", default=False),
    )),
    blue_green=dict(type="dict", options=dict(
        active_service=dict(type="str", required=True),
        preview_service=dict(type="str", required=True),
        preview_replicas=dict(type="int", required=True),
        auto_promote=dict(type="bool", default=True),
        pre_promotion=GATE,
        post_promotion=GATE,
        smoke_test=dict(type="dict", default={}),
        smoke_test_min_success_rate=dict(type="float", default=0.99),
        scale_down_delay=dict(type="int", default=30),
        migration_job=dict(type="dict", default={}),
        migration_timeout=dict(type="int", default=600),
    )),
    rolling=dict(type="dict", default={}, options=dict(
        max_surge=dict(type="raw", default="25%"),
        max_unavailable=dict(type="raw", default="25%"),
        gate=GATE,
    )),
    analysis=dict(type="dict", default={}, options=dict(
        window=dict(type="str", default="1m"),
        interval=dict(type="int", default=60),
        count=dict(type="int", default=3),
        initial_delay=dict(type="int", default=60),
    )),
    prometheus=PROMETHEUS_OPTION,
    rollout_timeout=dict(type="int", default=300),
    progress_deadline=dict(type="int"),
    lock=dict(type="dict", required=True, options=dict(
        holder=dict(type="str", required=True),
        job_id=dict(type="str", fallback=(env_fallback, ["AWX_JOB_ID", "JOB_ID"])),
        ttl=dict(type="int", default=120),
    )),
    notify=dict(type="dict", default={}),
    cursor=dict(type="dict"),
    config=dict(type="dict", default={}),
    freeze=dict(type="dict", options=dict(
        window=dict(type="str", required=True),
        override=dict(type="str", required=True),
    )),
)
REQUIRED_IF = [("strategy", "canary", ["canary"]), ("strategy", "blue_green", ["blue_green"])]


def run_release(module):
    """One call of the engine: the next part of the release the cursor names."""
    if module.params["action"] == "run" and not module.params["version"]:
        module.fail("version is required to run a release")
    if module.params["action"] == "rollback" and module.params["strategy"] != "rolling":
        # Their earlier version's objects are rendered by the role, so they go back by a run of it.
        module.fail("action rollback is for strategy rolling: a %s application goes back by releasing its "
                    "earlier version without gates (playbooks/rollback.yml)" % module.params["strategy"])
    return STRATEGIES[module.params["strategy"]](module).run()
