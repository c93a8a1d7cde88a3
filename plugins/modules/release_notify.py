#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_notify
short_description: Send one release event to Slack, webhooks, email and PagerDuty, never failing
version_added: 0.1.0
description:
  - Sends one event of a release (started, a step completed, paused, promoted, aborted, rolled
    back, a gate failed) to each target in O(targets) that wants it, in order - a Slack-compatible
    incoming webhook, a generic JSON webhook (optionally signed with HMAC-SHA256), email through
    SMTP, or PagerDuty's Events API v2. The notify role is this module with the role's variables.
  - >-
    A target that cannot be reached or answers with an error never fails the task. It gets one
    line, such as "Notification of aborted to on-call (pagerduty) failed: HTTP 500; the release
    goes on.", returned in RV(failures) and shown as a warning. Webhook URLs, routing
    keys, SMTP passwords, signing secrets and HTTP headers are never shown, even at C(-vvv).
  - An HTTP target succeeds when it answers 200, 201, 202 or 204.
author:
  - Terragon Labs (@terragonlabs)
options:
  event:
    description:
      - What happened to the release. V(guard_alert) is an alert that fired for a promoted release
        which the guard window left alone (outside the window, or another release held the lock).
    type: str
    required: true
    choices: [started, step_completed, paused, promoted, aborted, rolled_back, gate_failed, guard_alert]
  app:
    description: The application released.
    type: str
    required: true
  namespace:
    description: Its namespace.
    type: str
    required: true
  version:
    description: The version released; PagerDuty's C(dedup_key) is C(APP/NAMESPACE/VERSION).
    type: str
    default: ""
  strategy:
    description: The release strategy (C(blue_green), C(canary), C(rolling)).
    type: str
    default: ""
  summary:
    description:
      - One line a person reads - Slack's text, PagerDuty's summary, the first line of a mail,
        the C(message) field of a webhook. C(APP VERSION EVENT) when not set.
      - The notify role's C(notify_message).
    type: str
  details:
    description: Anything more about the event (step, verdicts, traffic, reason), listed in messages and posted as is to webhooks.
    type: dict
    default: {}
  environment:
    description: The environment released to.
    type: str
    default: ""
  timeout:
    description: Seconds to wait for each target.
    type: int
    default: 10
  targets:
    description:
      - Where to send the event. A C(slack) target posts text and a colored attachment to an
        incoming webhook; a C(webhook) target posts JSON with C(event), C(app), C(namespace),
        C(version), C(strategy), C(environment), C(message), C(details) and C(timestamp) (UTC,
        C(%Y-%m-%dT%H:%M:%SZ)), keys sorted, and, with a C(secret), a header C(X-Signature-256) of
        C(sha256=HEX), the HMAC-SHA256 of the exact body; an C(email) target sends a mail through
        SMTP; a C(pagerduty) target triggers an alert on C(gate_failed), C(aborted) and
        C(rolled_back) and resolves it on C(promoted) (C(dedup_key) C(APP/NAMESPACE/VERSION)).
      - An empty list sends nothing.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: Kind of target.
        type: str
        required: true
        choices: [slack, webhook, email, pagerduty]
      name:
        description: Name shown when the target fails; its type when not set.
        type: str
      events:
        description:
          - Events sent to this target; all of them for C(slack), C(webhook) and C(email), and
            C(gate_failed), C(aborted), C(rolled_back) and C(promoted) for C(pagerduty).
          - A C(pagerduty) target resolves on C(promoted) and triggers on any other event listed.
        type: list
        elements: str
        choices: [started, step_completed, paused, promoted, aborted, rolled_back, gate_failed, guard_alert]
      url:
        description:
          - The incoming webhook (C(slack)) or endpoint (C(webhook)); required for both. Never shown.
          - For C(pagerduty), the Events API v2 endpoint, C(https://events.pagerduty.com/v2/enqueue) when not set.
        type: str
      headers:
        description: More HTTP headers (C(webhook)). Never shown, as they may carry credentials.
        type: dict
        default: {}
      secret:
        description: Key of the HMAC-SHA256 signature of a C(webhook)'s body. Never shown.
        type: str
      signature_header:
        description: Header carrying the signature, as C(sha256=HEX).
        type: str
        default: X-Signature-256
      validate_certs:
        description: Verify the HTTPS endpoint's certificate.
        type: bool
        default: true
      routing_key:
        description: The PagerDuty integration's routing key (C(pagerduty), required). Never shown.
        type: str
      severity:
        description: Severity of a PagerDuty alert.
        type: str
        default: warning
        choices: [critical, error, warning, info]
      host:
        description: SMTP server (C(email), required).
        type: str
      port:
        description: SMTP port.
        type: int
        default: 25
      sender:
        description: The mail's C(From) (C(email), required).
        type: str
      to:
        description: Recipients (C(email), required).
        type: list
        elements: str
      username:
        description: SMTP user; logs in when set with O(targets[].password).
        type: str
      password:
        description: SMTP password. Never shown.
        type: str
      secure:
        description:
          - TLS towards the SMTP server, as community.general.mail's C(secure). V(always) sends only
            over implicit TLS; V(try) tries implicit TLS, then STARTTLS when offered, then plain;
            V(starttls) tries implicit TLS, then requires STARTTLS; V(never) sends in plain text.
          - As with community.general.mail, the server's certificate is not verified.
        type: str
        default: try
        choices: [always, never, starttls, try]
attributes:
  check_mode:
    support: full
    description: Sends nothing, as ansible.builtin.uri and community.general.mail skip in check mode; returns how many targets want the event.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
notes:
  - The sending is C(send_event) in the collection's C(module_utils/notify.py), which Python code
    reporting a release calls directly.
"""

EXAMPLES = r"""
- name: Tell the team the pre-promotion gate failed
  terragonlabs.progressive_delivery.release_notify:
    event: gate_failed
    app: modelcard-generator
    namespace: modelcard-production
    version: 1.2.0
    strategy: blue_green
    environment: production
    summary: "modelcard-generator 1.2.0: the pre-promotion gate failed"
    details: {gate: pre-promotion, verdict: Failed}
    targets:
      - type: slack
        name: releases
        url: "{{ slack_webhook_url }}"
      - type: webhook
        name: audit
        url: https://audit.example.com/hooks/releases
        secret: "{{ audit_signing_secret }}"
      - type: pagerduty
        name: on-call
        routing_key: "{{ pagerduty_routing_key }}"
        severity: critical
      - type: email
        host: smtp.example.com
        port: 587
        secure: starttls
        sender: releases@example.com
        to: [team@example.com]
        username: releases
        password: "{{ smtp_password }}"
  register: notified

- name: Say so when a target missed it
  ansible.builtin.debug:
    msg: "{{ notified.failures }}"
  when: notified.failures | length > 0
"""

RETURN = r"""
sent:
  description: How many targets took the event (none in check mode).
  returned: always
  type: int
  sample: 3
wanted:
  description: How many targets want the event, whether or not it reached them.
  returned: always
  type: int
  sample: 4
failures:
  description: One line for each target that did not take the event, in the order of O(targets), without its secrets.
  returned: always
  type: list
  elements: str
  sample: ["Notification of gate_failed to on-call (pagerduty) failed: HTTP 500; the release goes on."]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.notify import (
    EVENTS,
    TARGET_OPTIONS,
    TARGET_REQUIRED_IF,
    send_event,
    wants,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            event=dict(type="str", required=True, choices=list(EVENTS)),
            app=dict(type="str", required=True),
            namespace=dict(type="str", required=True),
            version=dict(type="str", default=""),
            strategy=dict(type="str", default=""),
            summary=dict(type="str"),
            details=dict(type="dict", default={}),
            environment=dict(type="str", default=""),
            timeout=dict(type="int", default=10),
            targets=dict(type="list", elements="dict", default=[], options=TARGET_OPTIONS,
                         required_if=TARGET_REQUIRED_IF),
        ),
        supports_check_mode=True,
    )
    params = module.params
    event = params["event"]
    wanted = len([target for target in params["targets"] if wants(target, event)])
    if module.check_mode:
        module.exit_json(changed=False, sent=0, wanted=wanted, failures=[],
                         msg="Check mode: %s would be sent to %d target(s)." % (event, wanted))
    failures = send_event(params["targets"], event, params["app"], params["namespace"], params["version"],
                          params["strategy"], params["summary"], details=params["details"],
                          environment=params["environment"], timeout=params["timeout"])
    for failure in failures:
        module.warn(failure)
    module.exit_json(changed=False, sent=wanted - len(failures), wanted=wanted, failures=failures,
                     msg="%s sent to %d of %d target(s)." % (event, wanted - len(failures), wanted))


if __name__ == "__main__":
    main()
