"""Release notifications: the notify role driven through ansible-playbook against local receivers
(an HTTP server and an SMTP sink that record what they got), and a blue-green release that reports
its events to a webhook."""

from email.header import decode_header, make_header
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO
from smtp_sink import SmtpSink
from stub_http import Stub
from test_blue_green import release
from test_rolling import roll

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "notify.yml"
# Parts of targets that must never be printed, at any verbosity.
SLACK_PATH = "/slack/T0001/B0001/slackpathsecret"
WEBHOOK_PATH = "/hooks/webhookpathsecret"
SIGNING_SECRET = "signing-secret-value"
ROUTING_KEY = "routingkeysecret0123456789abcdef"
SMTP_PASSWORD = "smtp-password-value"
SECRETS = [SLACK_PATH, WEBHOOK_PATH, SIGNING_SECRET, ROUTING_KEY, SMTP_PASSWORD, "slackpathsecret", "webhookpathsecret"]
EVENT = {"notify_app": "web", "notify_namespace": "shop", "notify_version": "1.2.0", "notify_strategy": "blue_green",
         "notify_environment": "staging"}


def refused_port():
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def receiver():
    stub = Stub({SLACK_PATH: lambda *_: (200, b"ok"), WEBHOOK_PATH: lambda *_: (200, {"received": True}),
                 "/v2/enqueue": lambda *_: (202, {"status": "success", "message": "Event processed"}),
                 "/broken": lambda *_: (500, b"internal error")})
    yield stub
    stub.close()


@pytest.fixture()
def smtp():
    sink = SmtpSink()
    yield sink
    sink.close()


def notify(event, targets, **variables):
    """Runs the notify role at -vvv; returns the run after checking no secret was printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as extra:
        json.dump(dict(EVENT, notify_event=event, notify_targets=targets, **variables), extra)
    try:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK), "-vvv", "-e", "@" + extra.name],
            cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0"),
            capture_output=True, text=True, timeout=300, check=False)
    finally:
        os.unlink(extra.name)
    for secret in SECRETS:
        assert secret not in run.stdout and secret not in run.stderr, f"{secret} was printed"
    return run


def sent(stub, path):
    return [json.loads(r["body"]) for r in stub.calls(path)]


def failures(run):
    """{target label (type): reason} of the failures the run reported (its output lines are wrapped)."""
    return dict(re.findall(r"Notification of \w+ to (.+?) failed: (.+?); the release goes on", " ".join(run.stdout.split())))


def test_slack_gets_the_message_with_the_event_color_and_its_fields(receiver):
    run = notify("promoted", [{"type": "slack", "name": "releases", "url": receiver.url + SLACK_PATH},
                              {"type": "slack", "name": "failures only", "url": receiver.url + SLACK_PATH,
                               "events": ["aborted", "gate_failed"]}],
                 notify_message="web 1.2.0 is promoted: all traffic on green", notify_details={"traffic": "green"})
    assert run.returncode == 0, run.stdout
    [message] = sent(receiver, SLACK_PATH)  # the second target does not want promoted
    assert message["text"] == "web 1.2.0 is promoted: all traffic on green"
    [attachment] = message["attachments"]
    assert attachment["color"] == "#2EB67D"
    header, fields, context = attachment["blocks"]
    assert header["text"]["text"].startswith("*web 1.2.0 promoted (staging, shop)*")
    assert {"type": "mrkdwn", "text": "*Application*\nweb"} in fields["fields"]
    assert {"type": "mrkdwn", "text": "*Strategy*\nblue_green"} in fields["fields"]
    assert context["elements"][0]["text"] == "traffic: green"
    assert failures(run) == {}

    aborted = notify("aborted", [{"type": "slack", "url": receiver.url + SLACK_PATH}])
    assert aborted.returncode == 0
    assert sent(receiver, SLACK_PATH)[-1]["attachments"][0]["color"] == "#E01E5A"


def test_the_webhook_gets_every_field_signed_with_the_secret(receiver):
    details = {"gate": "pre-promotion", "verdict": "Failed", "verdicts": {"success-rate": "Failed"}}
    run = notify("gate_failed", [{"type": "webhook", "url": receiver.url + WEBHOOK_PATH, "secret": SIGNING_SECRET,
                                  "headers": {"X-Team": "checkout"}}],
                 notify_message="web 1.2.0: the pre-promotion gate failed", notify_details=details)
    assert run.returncode == 0, run.stdout
    [request] = receiver.calls(WEBHOOK_PATH)
    body = json.loads(request["body"])
    assert {k: v for k, v in body.items() if k != "timestamp"} == {
        "event": "gate_failed", "app": "web", "namespace": "shop", "version": "1.2.0", "strategy": "blue_green",
        "environment": "staging", "message": "web 1.2.0: the pre-promotion gate failed", "details": details}
    assert body["timestamp"].endswith("Z") and body["timestamp"][:2] == "20"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-team"] == "checkout"
    expected = hmac.new(SIGNING_SECRET.encode(), request["body"].encode(), hashlib.sha256).hexdigest()
    assert headers["x-signature-256"] == "sha256=" + expected

    unsigned = notify("started", [{"type": "webhook", "url": receiver.url + WEBHOOK_PATH}])
    assert unsigned.returncode == 0
    assert "x-signature-256" not in {k.lower() for k in receiver.calls(WEBHOOK_PATH)[-1]["headers"]}


def test_pagerduty_is_triggered_on_failures_and_resolved_on_promotion(receiver):
    target = {"type": "pagerduty", "name": "on-call", "url": receiver.url + "/v2/enqueue", "routing_key": ROUTING_KEY}
    assert notify("started", [target]).returncode == 0
    assert receiver.calls("/v2/enqueue") == []  # PagerDuty pages on failures only

    run = notify("aborted", [dict(target, severity="critical")], notify_message="web 1.2.0 aborted: gate failed",
                 notify_details={"reason": "the pre-promotion gate ended Failed"})
    assert run.returncode == 0 and failures(run) == {}
    [trigger] = sent(receiver, "/v2/enqueue")
    assert {k: trigger[k] for k in ("routing_key", "event_action", "dedup_key")} == {
        "routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "web/shop/1.2.0"}
    payload = trigger["payload"]
    assert (payload["summary"], payload["source"], payload["severity"]) == (
        "web 1.2.0 aborted: gate failed", "web.shop", "critical")
    assert (payload["component"], payload["group"], payload["class"]) == ("web", "shop", "aborted")
    assert payload["custom_details"]["details"] == {"reason": "the pre-promotion gate ended Failed"}

    assert notify("promoted", [target]).returncode == 0
    resolve = sent(receiver, "/v2/enqueue")[-1]
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "web/shop/1.2.0"}


def test_email_is_sent_through_smtp_with_credentials(smtp):
    target = {"type": "email", "name": "team mail", "host": "127.0.0.1", "port": smtp.port,
              "sender": "releases@terragonlabs.com", "to": ["team@terragonlabs.com", "devops@terragonlabs.com"],
              "username": "releases", "password": SMTP_PASSWORD}
    run = notify("rolled_back", [target], notify_message="web 1.2.0 rolled back to revision 3",
                 notify_details={"reason": "post-update gate Failed"})
    assert run.returncode == 0, run.stdout
    assert failures(run) == {}
    assert smtp.logins == [[b"releases", SMTP_PASSWORD.encode()]]
    [mail] = smtp.messages
    assert sorted(mail["to"]) == ["TO:<devops@terragonlabs.com>", "TO:<team@terragonlabs.com>"]
    message = mail["message"]
    assert str(make_header(decode_header(message["Subject"]))) == "web 1.2.0 rolled back (staging, shop)"
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "web 1.2.0 rolled back to revision 3" in text
    assert "reason: post-update gate Failed" in text and "environment: staging" in text


def test_failing_targets_are_reported_by_name_and_the_play_goes_on(receiver):
    down = "http://127.0.0.1:%d" % refused_port()
    run = notify("aborted", [
        {"type": "webhook", "name": "audit", "url": receiver.url + "/broken" + WEBHOOK_PATH, "secret": SIGNING_SECRET},
        {"type": "slack", "url": down + SLACK_PATH},
        {"type": "pagerduty", "name": "on-call", "url": receiver.url + "/broken", "routing_key": ROUTING_KEY},
        {"type": "email", "name": "team mail", "host": "127.0.0.1", "port": refused_port(), "sender": "a@example.com",
         "to": ["b@example.com"], "username": "releases", "password": SMTP_PASSWORD, "secure": "never"},
        {"type": "webhook", "name": "still delivered", "url": receiver.url + WEBHOOK_PATH}])
    assert run.returncode == 0, run.stdout
    assert "the release goes on" in run.stdout
    reported = failures(run)
    assert reported.keys() == {"audit (webhook)", "slack (slack)", "on-call (pagerduty)", "team mail (email)"}
    assert reported["audit (webhook)"] == reported["on-call (pagerduty)"] == "HTTP 500"
    assert "Connection refused" in reported["slack (slack)"]
    assert "stopped with an error" in reported["team mail (email)"]
    assert len(receiver.calls(WEBHOOK_PATH)) == 1  # the last target is still served


def test_no_targets_sends_nothing_and_says_nothing(receiver):
    run = notify("started", [])
    assert run.returncode == 0
    assert receiver.requests == [] and failures(run) == {}


def test_a_target_missing_its_url_is_refused_naming_the_option(receiver):
    run = notify("started", [{"type": "slack", "name": "releases"},
                             {"type": "webhook", "url": receiver.url + WEBHOOK_PATH}])
    assert run.returncode != 0
    assert "url" in run.stdout and "notify_targets" in run.stdout
    assert receiver.requests == []


@pytest.mark.timeout(1500)  # two blue-green releases on a shared machine
def test_a_blue_green_release_reports_its_events_to_the_webhook(api_client, cluster, namespace, receiver):
    target = [{"type": "webhook", "name": "audit", "url": receiver.url + WEBHOOK_PATH, "secret": SIGNING_SECRET}]
    release(cluster, namespace, "1.0.0", pd_notify_targets=target)
    first = sent(receiver, WEBHOOK_PATH)
    assert [(b["event"], b["version"]) for b in first] == [("started", "1.0.0"), ("promoted", "1.0.0")]
    assert (first[0]["app"], first[0]["namespace"], first[0]["strategy"], first[0]["environment"]) == (
        "modelcard-generator", namespace, "blue_green", "local")
    assert first[1]["details"]["traffic"] == "blue"

    failed = release(cluster, namespace, "1.2.0", check=False, pd_notify_targets=target)  # 30% errors
    assert failed.returncode != 0
    later = sent(receiver, WEBHOOK_PATH)[2:]
    assert [(b["event"], b["version"]) for b in later] == [("started", "1.2.0"), ("gate_failed", "1.2.0"),
                                                           ("aborted", "1.2.0")]
    gate_failed, aborted = later[1], later[2]
    assert (gate_failed["details"]["gate"], gate_failed["details"]["verdict"]) == ("pre-promotion", "Failed")
    # The verdict once: the gate's message begins with it.
    assert gate_failed["message"].startswith("modelcard-generator 1.2.0: the pre-promotion gate ended Failed: ")
    assert "Failed: Failed" not in gate_failed["message"] + aborted["details"]["reason"]
    assert "the pre-promotion gate ended Failed" in aborted["details"]["reason"]
    assert aborted["details"]["traffic"] == "blue"
    for request in receiver.calls(WEBHOOK_PATH):
        signature = hmac.new(SIGNING_SECRET.encode(), request["body"].encode(), hashlib.sha256).hexdigest()
        assert request["headers"]["X-Signature-256"] == "sha256=" + signature


@pytest.mark.timeout(1500)  # two rolling updates on a shared machine
def test_a_rolling_update_reports_its_events_and_its_rollback(api_client, cluster, namespace, receiver):
    events = ["started", "promoted", "gate_failed", "rolled_back"]
    target = [{"type": "webhook", "url": receiver.url + WEBHOOK_PATH, "events": events}]
    roll(cluster, namespace, "1.0.0", pd_notify_targets=target)
    bad = roll(cluster, namespace, "1.2.0", check=False, pd_notify_targets=target)  # 30% errors
    assert bad.returncode != 0
    bodies = sent(receiver, WEBHOOK_PATH)
    assert [(b["event"], b["version"], b["strategy"]) for b in bodies] == [
        ("started", "1.0.0", "rolling"), ("promoted", "1.0.0", "rolling"), ("started", "1.2.0", "rolling"),
        ("gate_failed", "1.2.0", "rolling"), ("rolled_back", "1.2.0", "rolling")]
    assert bodies[4]["details"]["stable_revision"] == "1"
    assert "the post-update gate ended Failed" in bodies[4]["details"]["reason"]
