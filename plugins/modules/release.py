#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release
short_description: Run a release's strategy as one engine, showing each step as it ends
version_added: 0.1.0
description:
  - The release engine runs a strategy's steps, reconciled over a step index as Argo Rollouts keeps
    them, with one abort path and one promote path. The task calls the engine until the run ends, one
    call per step, each going on from the RV(cursor) the last returned, and shows what each call did as
    it ends (a line naming the host and what the call did, on ansible's standard error as its warnings are; AWX
    shows it in the job output), so that the play shows progress once per step (see the
    P(terragonlabs.progressive_delivery.canary#role), P(terragonlabs.progressive_delivery.blue_green#role)
    and P(terragonlabs.progressive_delivery.rolling#role) roles). RV(steps) lists the same lines.
  - Where the task runs on the controller (a C(local) connection without C(become), as the playbooks'
    tasks do, C(delegate_to=localhost) included), the calls run inside ansible's worker process, with
    the controller's Python, with no module to package and no interpreter to start per step. On any other
    connection each call is this module, run on the target host with its Python, as kubernetes.core's
    modules are; both run the same engine and return the same result.
  - The first call of a run reads where the release stands (its record and the cluster), refuses a
    release while another version's is paused or unfinished, takes the release lock (waiting for a
    killed run's to expire), records the release and brings the new version up. Each later call runs
    the next step; the last one promotes. The task ends when the run is over (promoted, paused,
    aborted, or nothing to do), or at a failure.
  - The run's lock is renewed while it waits (for pods, pauses, measurements), and a lock found lost
    stops the run with C(lost the release lock), leaving the release to the run that took it; so does
    a run whose ansible-playbook was killed.
  - A failure (a Failed or Error analysis, pods that never become ready, a refused request) aborts in
    process - traffic back to the stable version first, then sizes, the record, the events.
  - A rolling update (O(strategy=rolling)) updates the application's own Deployment as a RollingUpdate
    and waits for it in its first call; its second call measures the post-update gate and records the
    promotion. Its way back undoes the Deployment to the revision that served before (recorded as
    C(stable_revision)), and the release is recorded as C(rolled_back).
  - Events (C(started), C(step_completed), C(paused), C(gate_failed), C(aborted), C(promoted),
    C(rolled_back)) go to the targets of O(notify) as they happen, and are listed in RV(events).
author:
  - Terragon Labs (@terragonlabs)
options:
  strategy:
    description: The release strategy; O(canary), O(blue_green) or O(rolling) holds its settings.
    type: str
    choices: [canary, blue_green, rolling]
    required: true
  action:
    description:
      - V(run) releases O(version) (or goes on with its interrupted release); V(promote) goes on with
        the recorded release past its pause (a canary with O(canary.full) promotes at once); V(abort)
        sends traffic back to what served before and records the release as aborted. A rolling update a run
        left unfinished is finished by V(promote) (its rollout waited for, its gate measured) or undone by
        V(abort) to its recorded stable revision and recorded as rolled back. V(rollback) (O(strategy=rolling)
        only) undoes the Deployment, without gates, to O(rollback_to), holding the release lock so that it
        never races a running update; the caller records where it went.
    type: str
    choices: [run, promote, abort, rollback]
    default: run
  rollback_to:
    description:
      - The Deployment revision O(action=rollback) goes back to; V(0) is the revision before the current one.
    type: int
    default: 0
  app:
    description: The application's name, which names its Deployments, lock and record.
    type: str
    required: true
  namespace:
    description: The application's namespace.
    type: str
    required: true
  version:
    description: The version to release; required by O(action=run). Promote and abort act on the recorded one.
    type: str
  image:
    description: The new version's image, run by its Deployments and recorded with the release.
    type: str
  replicas:
    description: Replicas of the version that serves.
    type: int
    default: 3
  tracks:
    description:
      - The Deployments the strategy runs - each color (C(blue), C(green)) of a blue-green release, or under
        C(rolling) the application's own. None under C(canary), whose engine builds its two slots itself
        (C(APP-blue) and C(APP-green), pods labelled C(terragonlabs.io/color); C(APP-stable) and C(APP-canary),
        pods labelled C(terragonlabs.io/track), for applications released before the slots). The engine builds each one's objects as data when it
        applies them (server-side) - its Services, its Deployment and, with more than one replica, its
        PodDisruptionBudget, as the P(terragonlabs.progressive_delivery.workload#role) role builds an
        application's - and sets each Deployment's C(spec.replicas) (and a rolling update's C(spec.strategy)).
      - Needed by the actions that deploy; none for an abort.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The track's or color's name.
        type: str
        required: true
      deployment:
        description: The Deployment's name; O(app) and O(tracks[].name), joined by C(-), when not set.
        type: str
      pod_labels:
        description:
          - Labels added to the pods and to the Deployment's selector (the track or color).
          - A Service a release switches between colors selects the pods of the one whose labels it holds.
        type: dict
        default: {}
      services:
        description:
          - Services applied with the Deployment, each C(name), optional C(selector) (labels added to the
            application's label) and C(annotations).
        type: list
        elements: dict
        default: []
  workload:
    description: How the new version's pods run, for every track; needed with O(tracks).
    type: dict
    suboptions:
      port:
        description: The port the container listens on; the Services expose it as port 80 named C(http).
        type: int
        required: true
      health_path:
        description: The HTTP path of the readiness and liveness probes.
        type: str
        required: true
      resources:
        description: The container's resource requests and limits.
        type: dict
        required: true
      pod_annotations:
        description: Annotations on the pod template.
        type: dict
        default: {}
      config:
        description:
          - ConfigMaps and Secrets the pods read, each C(config_map) or C(secret) with an optional
            C(mount_path), as the workload role's C(workload_config) - the copies
            M(terragonlabs.progressive_delivery.release_config) returns as
            RV(terragonlabs.progressive_delivery.release_config#module:references).
        type: list
        elements: dict
        default: []
  canary:
    description: The canary strategy's settings.
    type: dict
    suboptions:
      router:
        description: How traffic is split; V(replicas) splits it by the two Deployments' replica counts.
        type: str
        choices: [istio, gateway_api, nginx, openshift_route, replicas]
        default: replicas
      route:
        description: The router's route object (VirtualService, HTTPRoute, Ingress or Route).
        type: str
      route_object:
        description: The route to create, sending all traffic to stable, when none exists.
        type: dict
      stable_service:
        description: The stable version's Service.
        type: str
        required: true
      canary_service:
        description: The canary's Service (with the V(replicas) router, the stable one serves both).
        type: str
        required: true
      steps:
        description: The canary steps, shaped as Argo Rollouts' (V(set_weight), V(pause), V(analysis), ...).
        type: list
        elements: dict
        default: []
      background_analysis:
        description:
          - Metrics measured through every pause and analysis from step C(start_at_step) on, once each
            C(interval); a Failed or Error verdict aborts at once. Keys C(interval), C(start_at_step),
            C(templates) and C(metrics), as the canary role's C(canary_background_analysis).
        type: dict
        default: {}
      full:
        description: With O(action=promote), promote at once, past every step left.
        type: bool
        default: false
  blue_green:
    description: The blue-green strategy's settings.
    type: dict
    suboptions:
      active_service:
        description: The Service users reach, switched from the old color to the new.
        type: str
        required: true
      preview_service:
        description: The Service that reaches the new color before it is promoted.
        type: str
        required: true
      preview_replicas:
        description: Replicas of the new color before promotion.
        type: int
        required: true
      auto_promote:
        description: Promote once the pre-promotion gate passes; V(false) pauses for a promote run.
        type: bool
        default: true
      pre_promotion:
        description: The gate measured on the preview Service.
        type: dict
        default: {}
        suboptions: &gate_suboptions
          templates:
            description: Built-in metric templates, measured as O(analysis) says.
            type: list
            elements: str
            default: []
          metrics:
            description: More metrics, as metric_gate's O(terragonlabs.progressive_delivery.metric_gate#module:metrics).
            type: list
            elements: dict
            default: []
      post_promotion:
        description: The gate measured on the active Service after the switch.
        type: dict
        default: {}
        suboptions: *gate_suboptions
      smoke_test:
        description: An C(http_probe) of the preview, as metric_gate's, added to the pre-promotion gate.
        type: dict
        default: {}
      smoke_test_min_success_rate:
        description: The smoke test's lowest passing success rate.
        type: float
        default: 0.99
      scale_down_delay:
        description: Seconds the old color stays up after the promotion, for a fast rollback.
        type: int
        default: 30
      migration_job:
        description: A Job that must complete before the new color is deployed.
        type: dict
        default: {}
      migration_timeout:
        description: Seconds the migration Job may take.
        type: int
        default: 600
  rolling:
    description: The rolling strategy's settings.
    type: dict
    default: {}
    suboptions:
      max_surge:
        description: Pods above O(replicas) during the update, a count or a percentage (C(25%)).
        type: raw
        default: 25%
      max_unavailable:
        description: Pods of O(replicas) that may be unavailable during the update, a count or a percentage.
        type: raw
        default: 25%
      gate:
        description: The post-update gate, measured on the Service named after the application once the update is rolled out.
        type: dict
        default: {}
        suboptions: *gate_suboptions
  analysis:
    description: How the built-in templates of an analysis or gate measure.
    type: dict
    default: {}
    suboptions:
      window:
        description: The window of the templates' queries.
        type: str
        default: 1m
      interval:
        description: Seconds between measurements.
        type: int
        default: 60
      count:
        description: Measurements of each template.
        type: int
        default: 3
      initial_delay:
        description: Seconds before the first measurement.
        type: int
        default: 60
  rollout_timeout:
    description: Seconds each wait for pods may last.
    type: int
    default: 300
  progress_deadline:
    description:
      - Seconds a wait for pods may go without progress before the release is aborted, and the new
        Deployments' C(progressDeadlineSeconds) (Kubernetes' 600 when not set).
    type: int
  lock:
    description: The release lock this run takes (see M(terragonlabs.progressive_delivery.release_lock)).
    type: dict
    required: true
    suboptions:
      holder:
        description: Who releases; the run's time is added, so that two runs are distinct.
        type: str
        required: true
      job_id:
        description: The AWX job id (from C(AWX_JOB_ID) or C(JOB_ID) when not given).
        type: str
      ttl:
        description: Seconds the lock lasts unless renewed; a killed run's lock expires within it.
        type: int
        default: 120
  notify:
    description:
      - Where the release's events go - C(targets), as M(terragonlabs.progressive_delivery.release_notify)'s
        O(terragonlabs.progressive_delivery.release_notify#module:targets) (checked the same way, their
        secrets masked in all output), and C(environment), the environment named in each event.
      - A failed notification never stops the release; it is reported as a warning.
    type: dict
    default: {}
  cursor:
    description:
      - Where to go on from - the RV(cursor) of a run that stopped, such as one a lost API server failed,
        whose RV(pending) is then done first. Empty for a new run.
    type: dict
  config:
    description:
      - The new version's config copies, as M(terragonlabs.progressive_delivery.release_config) returns
        them (RV(terragonlabs.progressive_delivery.release_config#module:copies)), recorded with the release
        so that a rollback can bring them back. Names only.
    type: dict
    default: {}
  freeze:
    description:
      - The freeze window this release goes ahead in, and why, as
        M(terragonlabs.progressive_delivery.release_freeze) returns them; recorded with the release (its
        C(details.freeze_window) and C(details.freeze_override)) and said in its C(started) event.
    type: dict
    suboptions:
      window:
        description: The window's name.
        type: str
        required: true
      override:
        description: The reason the release goes ahead.
        type: str
        required: true
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.metrics.prometheus
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description:
      - The new objects go through a server-side dry run and RV(plan) says step by step what the run
        would do, reported as changed; no lock is taken and nothing is written.
  diff_mode:
    support: none
    description: A release changes many objects; RV(events) and the record say what changed.
requirements:
  - urllib3
  - PyYAML (to read a kubeconfig)
seealso:
  - module: terragonlabs.progressive_delivery.traffic_switch
  - module: terragonlabs.progressive_delivery.metric_gate
  - module: terragonlabs.progressive_delivery.release_record
"""

EXAMPLES = r"""
- name: Release the Model Card Generator 2.0.0 as a canary, each step shown as it ends
  terragonlabs.progressive_delivery.release:
    strategy: canary
    app: modelcard-generator
    namespace: modelcard
    version: 2.0.0
    image: ghcr.io/terragonlabs/modelcard-generator:2.0.0
    # The engine builds the slots' Deployments (modelcard-generator-blue, -green) and Services from these.
    workload:
      port: 8080
      health_path: /health
      resources: {requests: {cpu: 100m, memory: 256Mi}}
    canary:
      router: istio
      route: modelcard-generator
      stable_service: modelcard-generator
      canary_service: modelcard-generator-canary
      steps: [{set_weight: 20}, {pause: {duration: 30}}, {set_weight: 100}]
    lock: {holder: release-bot}

- name: Roll the Model Card Generator to 2.0.1, undone to the revision before it if its gate fails
  terragonlabs.progressive_delivery.release:
    strategy: rolling
    app: modelcard-generator
    namespace: modelcard
    version: 2.0.1
    image: ghcr.io/terragonlabs/modelcard-generator:2.0.1
    # The application's own Deployment and Service, both named after it.
    tracks: [{name: rolling, deployment: modelcard-generator, services: [{name: modelcard-generator}]}]
    workload: {port: 8080, health_path: /health, resources: {requests: {cpu: 100m, memory: 256Mi}}}
    rolling:
      max_surge: 1
      max_unavailable: 0
      gate: {templates: [app_success_rate]}
    prometheus: {url: http://prometheus.monitoring:9090}
    lock: {holder: release-bot}
"""

RETURN = r"""
ended:
  description: Whether the run is over (promoted, paused, aborted, or nothing to do); false when it failed with work left.
  returned: always
  type: bool
cursor:
  description: Where the run stands; given back as O(cursor), a stopped run goes on from there.
  returned: always
  type: dict
pending:
  description:
    - What a failure left undone because the API server could not be reached - C(abort) (the way back)
      or C(finish) (the rest of a promotion) - for one more task given RV(cursor).
  returned: when a failure left work undone
  type: str
progress:
  description: What the last call did, in one line.
  returned: always
  type: str
  sample: "promoted modelcard-generator 2.0.0"
steps:
  description: What each call did, one line each, in order, as the task showed them.
  returned: always
  type: list
  elements: str
  sample: ["started 2.0.0 beside 1.0.0: the canary is up, from step 0", "step 0: 20% of traffic to the canary, 1 of 3 replicas"]
events:
  description: The events of the run (C(event), C(version), C(message), C(details)), as sent to the targets.
  returned: always
  type: list
  elements: dict
waited:
  description: Seconds the run spent in the waits its strategy asks for - C(pauses) (with the scale-down delay), C(gates) and C(rollouts) (pods starting).
  returned: always
  type: dict
  sample: {pauses: 4.0, gates: 6.1, rollouts: 11.2}
plan:
  description: In check mode, what the run would do, step by step.
  returned: in check mode, when there is a release to do
  type: list
  elements: str
gate:
  description: The result of the analysis that failed (verdict, message, metrics), as metric_gate returns it.
  returned: when an analysis failed
  type: dict
rolled_back_to:
  description: The Deployment revision O(action=rollback) undid the application to.
  returned: when a rollback ran
  type: int
  sample: 3
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_task import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    run_release,
)


def main():
    KubeModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF).run(run_release)


if __name__ == "__main__":
    main()
