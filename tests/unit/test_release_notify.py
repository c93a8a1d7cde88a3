"""Release notifications sent by module_utils/notify.py to local receivers (an HTTP server and an
SMTP sink that record what they got): the exact requests of each target type, which targets want
an event, the webhook signature, secrets kept out of failure lines, and failing targets that do
not stop the others. Last, the release_notify module through ansible, in check mode and at -vvv."""

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import notify

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from smtp_sink import SmtpSink  # noqa: E402
from stub_http import Stub  # noqa: E402

NOW = "2026-12-05T10:20:30Z"
RELEASE = dict(event="aborted", app="web", namespace="shop", version="1.2.0", strategy="blue_green",
               message="web 1.2.0 aborted: the pre-promotion gate failed", environment="staging",
               details={"reason": "gate Failed", "traffic": "blue", "verdicts": {"errors": "Failed"}, "step": 2})
FIELDS = {"event": "aborted", "app": "web", "namespace": "shop", "version": "1.2.0", "strategy": "blue_green",
          "environment": "staging", "message": "web 1.2.0 aborted: the pre-promotion gate failed",
          "details": RELEASE["details"], "timestamp": NOW}


def refused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(notify, "utc_timestamp", lambda: NOW)


def answer(status):
    return lambda *_: (status, b"{}")


@pytest.fixture(scope="module")
def http_server():
    stub = Stub({"/ok": answer(200), "/created": answer(201), "/accepted": answer(202), "/empty": answer(204),
                 "/moved": lambda stub, handler, body: (301, b""), "/missing": answer(404), "/broken": answer(500)})
    yield stub
    stub.close()


@pytest.fixture()
def http(http_server):
    http_server.requests.clear()
    return http_server


@pytest.fixture()
def smtp():
    sink = SmtpSink()
    yield sink
    sink.close()


def send(targets, **changes):
    return notify.send_event(targets, **dict(RELEASE, **changes))


# The requests as the notify role's uri tasks sent them: key order, separators and escapes included.
SLACK_BODY = (
    '{"text": "web 1.2.0 aborted: the pre-promotion gate failed", "attachments": [{"color": "#E01E5A", '
    '"fallback": "web 1.2.0 aborted: the pre-promotion gate failed", "blocks": ['
    '{"type": "section", "text": {"type": "mrkdwn", "text": "*web 1.2.0 aborted (staging, shop)*\\n'
    'web 1.2.0 aborted: the pre-promotion gate failed"}}, '
    '{"type": "section", "fields": [{"type": "mrkdwn", "text": "*Application*\\nweb"}, '
    '{"type": "mrkdwn", "text": "*Version*\\n1.2.0"}, {"type": "mrkdwn", "text": "*Namespace*\\nshop"}, '
    '{"type": "mrkdwn", "text": "*Environment*\\nstaging"}, {"type": "mrkdwn", "text": "*Strategy*\\nblue_green"}, '
    '{"type": "mrkdwn", "text": "*Event*\\naborted"}]}, '
    '{"type": "context", "elements": [{"type": "mrkdwn", "text": '
    '"reason: gate Failed; traffic: blue; verdicts: {\\"errors\\": \\"Failed\\"}; step: 2"}]}]}]}')
WEBHOOK_BODY = (
    '{"app": "web", "details": {"reason": "gate Failed", "step": 2, "traffic": "blue", "verdicts": {"errors": "Failed"}}, '
    '"environment": "staging", "event": "aborted", "message": "web 1.2.0 aborted: the pre-promotion gate failed", '
    '"namespace": "shop", "strategy": "blue_green", "timestamp": "2026-12-05T10:20:30Z", "version": "1.2.0"}')
PAGERDUTY_TRIGGER = (
    '{"routing_key": "rk0123", "event_action": "trigger", "dedup_key": "web/shop/1.2.0", '
    '"client": "terragonlabs.progressive_delivery", "payload": {"summary": "web 1.2.0 aborted: the pre-promotion gate '
    'failed", "source": "web.shop", "severity": "critical", "timestamp": "2026-12-05T10:20:30Z", "component": "web", '
    '"group": "shop", "class": "aborted", "custom_details": {"event": "aborted", "app": "web", "namespace": "shop", '
    '"version": "1.2.0", "strategy": "blue_green", "environment": "staging", "message": "web 1.2.0 aborted: the '
    'pre-promotion gate failed", "details": {"reason": "gate Failed", "traffic": "blue", "verdicts": {"errors": '
    '"Failed"}, "step": 2}, "timestamp": "2026-12-05T10:20:30Z"}}}')
PAGERDUTY_RESOLVE = '{"routing_key": "rk0123", "event_action": "resolve", "dedup_key": "web/shop/1.2.0"}'


@pytest.mark.parametrize("target, changes, body", [
    ({"type": "slack", "url": "/ok/slack"}, {}, SLACK_BODY),
    ({"type": "webhook", "url": "/ok/hook", "headers": {"X-Team": "checkout"}}, {}, WEBHOOK_BODY),
    ({"type": "pagerduty", "url": "/accepted", "routing_key": "rk0123", "severity": "critical"}, {}, PAGERDUTY_TRIGGER),
    ({"type": "pagerduty", "url": "/accepted", "routing_key": "rk0123"}, {"event": "promoted"}, PAGERDUTY_RESOLVE),
], ids=["slack", "webhook", "pagerduty trigger", "pagerduty resolve"])
def test_each_http_target_gets_the_bytes_the_role_sent(http, target, changes, body):
    assert send([dict(target, url=http.url + target["url"])], **changes) == []
    [request] = http.requests
    assert (request["method"], request["path"], request["body"]) == ("POST", target["url"], body)
    headers = dict(request["headers"])
    assert (headers["Content-Type"], headers["User-Agent"]) == ("application/json", "ansible-httpget")
    assert {name: headers[name] for name in target.get("headers", {})} == target.get("headers", {})


@pytest.mark.parametrize("changes, subject, body", [
    ({}, "web 1.2.0 aborted (staging, shop)",
     "web 1.2.0 aborted: the pre-promotion gate failed\n\napp: web\nversion: 1.2.0\nnamespace: shop\n"
     "environment: staging\nstrategy: blue_green\nevent: aborted\ntimestamp: 2026-12-05T10:20:30Z\n"
     "reason: gate Failed\ntraffic: blue\nverdicts: {\"errors\": \"Failed\"}\nstep: 2\n\n\n"),
    ({"event": "step_completed", "version": "", "environment": "", "strategy": "", "details": {},
      "message": "déployé à 50 %"}, "web  step completed (shop)",
     "déployé à 50 %\n\napp: web\nnamespace: shop\nevent: step_completed\ntimestamp: 2026-12-05T10:20:30Z\n\n\n"),
], ids=["every field", "empty fields left out, non-ASCII"])
def test_an_email_has_the_subject_and_body_of_the_role(smtp, changes, subject, body):
    target = {"type": "email", "host": "127.0.0.1", "port": smtp.port, "sender": "Releases <releases@example.com>",
              "to": ["team@example.com", " Dev Ops <devops@example.com>", "team@example.com"], "secure": "never"}
    assert send([target], **changes) == []
    [mail] = smtp.messages
    assert (mail["from"], mail["to"]) == ("FROM:<releases@example.com>", ["TO:<team@example.com>",
                                                                          "TO:<devops@example.com>"])
    message = mail["message"]
    assert str(make_header(decode_header(message["Subject"]))) == subject
    assert (message["From"], message["To"]) == ("Releases <releases@example.com>",
                                                "team@example.com, Dev Ops <devops@example.com>, team@example.com")
    assert (message["X-Mailer"], message.get_content_type()) == ("Ansible mail module", "multipart/mixed")
    [part] = message.get_payload()
    assert part.get_content_type() == "text/plain" and part.get_content_charset() == "utf-8"
    assert part.get_payload(decode=True).decode("utf-8") == body


@pytest.mark.parametrize("kind, events, event, wanted", [
    ("slack", None, "step_completed", True),
    ("webhook", None, "paused", True),
    ("email", None, "started", True),
    ("pagerduty", None, "started", False),
    ("pagerduty", None, "step_completed", False),
    ("pagerduty", None, "paused", False),
    ("pagerduty", None, "gate_failed", True),
    ("pagerduty", None, "promoted", True),
    ("slack", ["aborted", "gate_failed"], "promoted", False),
    ("slack", ["aborted", "gate_failed"], "aborted", True),
    ("pagerduty", ["paused"], "paused", True),
    ("webhook", [], "aborted", False),
])
def test_a_target_gets_its_own_events_or_its_types_defaults(http, smtp, kind, events, event, wanted):
    target = {"type": kind, "url": http.url + "/ok", "routing_key": "rk", "host": "127.0.0.1", "port": smtp.port,
              "sender": "a@example.com", "to": ["b@example.com"], "secure": "never"}
    if events is not None:
        target["events"] = events
    assert notify.wants(target, event) is wanted
    assert send([target], event=event) == []
    assert len(http.requests) + len(smtp.messages) == wanted


@pytest.mark.parametrize("target, header", [
    ({"secret": "s3cret"}, "X-Signature-256"),
    ({"secret": "s3cret", "signature_header": "X-Hub-Signature-256"}, "X-Hub-Signature-256"),
    ({"secret": "clé", "signature_header": None}, "X-Signature-256"),
])
@pytest.mark.parametrize("message", ["plain ascii", "déployé: \"quoted\" \\ and 💥"])
def test_the_signature_covers_exactly_the_bytes_sent(http, target, header, message):
    assert send([dict(target, type="webhook", url=http.url + "/ok")], message=message) == []
    [request] = http.requests
    sent = request["body"].encode("utf-8")
    assert json.loads(sent)["message"] == message
    expected = "sha256=" + hmac.new(target["secret"].encode("utf-8"), sent, hashlib.sha256).hexdigest()
    assert request["headers"][header] == expected


def test_an_unsigned_webhook_has_no_signature_header(http):
    assert send([{"type": "webhook", "url": http.url + "/ok", "secret": ""}]) == []
    assert not [name for name in http.requests[0]["headers"] if "signature" in name.lower()]


@pytest.mark.parametrize("path, reason", [
    ("/ok", None), ("/created", None), ("/accepted", None), ("/empty", None),
    ("/moved", "HTTP 301"), ("/missing", "HTTP 404"), ("/broken", "HTTP 500"),
])
def test_only_the_success_statuses_count(http, path, reason):
    failures = send([{"type": "slack", "name": "chat", "url": http.url + path}])
    assert failures == ([] if reason is None else
                        ["Notification of aborted to chat (slack) failed: %s; the release goes on." % reason])


@pytest.mark.parametrize("validate_certs, delivered", [(True, False), (None, False), (False, True)])
def test_validate_certs_is_honoured(validate_certs, delivered):
    stub = Stub({"/": answer(200)}, tls=True)  # a private CA the client does not trust
    try:
        failures = send([{"type": "webhook", "url": stub.url + "/hook", "validate_certs": validate_certs}])
    finally:
        stub.close()
    assert len(stub.requests) == int(delivered)
    assert failures == [] if delivered else "CERTIFICATE_VERIFY_FAILED" in failures[0]


@pytest.mark.parametrize("option, value", [
    ("url", "hooks/url-secret"), ("routing_key", "routing-key-secret"), ("password", "smtp-password-secret"),
    ("secret", "signing-secret"),
])
def test_no_failure_line_quotes_a_secret(monkeypatch, option, value):
    def open_url(url, data=None, headers=None, **_):
        raise ValueError("refused %s for %s, %s and %s" % (url, data.decode(), headers, value))
    monkeypatch.setattr(notify, "open_url", open_url)
    target = {"type": "pagerduty", "name": "on-call", "url": "https://pd.example/enqueue", "routing_key": "rk-secret"}
    target[option] = value
    [failure] = send([target])
    assert value not in failure and "rk-secret" not in failure and "<redacted>" in failure
    assert failure.startswith("Notification of aborted to on-call (pagerduty) failed: refused ")


def test_a_secret_that_begins_another_leaves_nothing_of_it(monkeypatch):
    def open_url(url, **_):
        raise ValueError("refused key abcdef")
    monkeypatch.setattr(notify, "open_url", open_url)
    [failure] = send([{"type": "pagerduty", "routing_key": "abc", "password": "abcdef"}])
    assert "refused key <redacted>;" in failure and "def" not in failure.split("refused key ")[1]


def test_a_url_an_error_quotes_is_redacted_without_mocks():
    [failure] = send([{"type": "webhook", "url": "hooks/no-scheme-secret"}])
    assert failure == "Notification of aborted to webhook (webhook) failed: unknown url type: '<redacted>'; " \
                      "the release goes on."


def test_failing_targets_do_not_stop_the_others(http, smtp):
    targets = [
        {"type": "webhook", "name": "audit", "url": http.url + "/broken", "secret": "s"},
        {"type": "slack", "url": "http://127.0.0.1:%d/slack" % refused_port()},
        {"type": "slack", "name": "releases"},  # no url: the module refuses it, the engine may not
        {"type": "email", "name": "team mail", "host": "127.0.0.1", "port": refused_port(), "sender": "a@example.com",
         "to": ["b@example.com"], "secure": "never"},
        {"type": "pager", "name": "typo"},
        {"type": "webhook", "name": "delivered", "url": http.url + "/ok"},
        {"type": "pagerduty", "name": "on-call", "url": http.url + "/accepted", "routing_key": "rk"},
        {"type": "email", "host": "127.0.0.1", "port": smtp.port, "sender": "a@example.com", "to": ["b@example.com"]},
        {"type": "webhook", "name": "still delivered", "url": http.url + "/ok"},
    ]
    failures = send(targets)
    assert [line.split(" failed: ", 1)[0] for line in failures] == [
        "Notification of aborted to audit (webhook)", "Notification of aborted to slack (slack)",
        "Notification of aborted to releases (slack)", "Notification of aborted to team mail (email)",
        "Notification of aborted to typo (pager)"]
    reasons = [line.split(" failed: ", 1)[1] for line in failures]
    assert reasons[0] == "HTTP 500; the release goes on."
    assert "Connection refused" in reasons[1]
    assert reasons[2] == "the target has no url; the release goes on."
    assert reasons[3].startswith("sending stopped with an error (is the server reachable?): ")
    assert reasons[4].startswith("unknown target type")
    assert len(smtp.messages) == 1 and len(http.calls("/accepted")) == 1 and len(http.calls("/ok")) == 2


def test_an_error_of_any_kind_is_a_failure_line_not_an_exception(http):
    [failure] = send([{"type": "webhook", "name": "audit", "url": http.url + "/ok"}], details={"when": object()})
    assert failure.startswith("Notification of aborted to audit (webhook) failed: sending stopped with an error: "
                              "TypeError: Object of type object is not JSON serializable")
    assert http.requests == []


@pytest.mark.parametrize("event, targets", [("deployed", []), ("aborted", {"type": "slack"}), ("aborted", ["slack"])])
def test_a_callers_mistake_raises(event, targets):
    with pytest.raises(ValueError):
        notify.send_event(targets, event, "web", "shop", "1", "canary", "m")


def test_no_message_means_app_version_event(http):
    assert notify.send_event([{"type": "webhook", "url": http.url + "/ok"}], "rolled_back", "web", "shop", 3, None,
                             None) == []
    body = json.loads(http.requests[0]["body"])
    assert (body["message"], body["version"], body["strategy"], body["environment"], body["details"]) == (
        "web 3 rolled back", "3", "", "", {})


@pytest.mark.parametrize("tls, secure, sent_over_tls, reason", [
    (None, "never", False, None),
    (None, "try", False, None),
    ("starttls", "try", True, None),
    ("starttls", "starttls", True, None),
    ("implicit", "try", True, None),
    ("implicit", "always", True, None),
    (None, "starttls", None, "StartTLS is not offered on server 127.0.0.1:PORT"),
    (None, "always", None, "Unable to start an encrypted session to 127.0.0.1:PORT: "),
    ("implicit", "never", None, "Unable to Connect 127.0.0.1:PORT: "),  # no greeting in plain text
])
def test_secure_means_what_it_means_to_community_general_mail(tls, secure, sent_over_tls, reason):
    sink = SmtpSink(tls=tls)
    target = {"type": "email", "name": "mail", "host": "127.0.0.1", "port": sink.port, "sender": "a@example.com",
              "to": ["b@example.com"], "secure": secure, "username": "releases", "password": "pw"}
    try:
        failures = send([target], timeout=2)
    finally:
        sink.close()
    if secure == "never":
        assert sink.connections <= 1  # no attempt at implicit TLS first
    if reason is None:
        assert failures == [] and [m["tls"] for m in sink.messages] == [sent_over_tls]
        assert sink.logins == [[b"releases", b"pw"]]
    else:
        assert failures[0].startswith("Notification of aborted to mail (email) failed: %s" % reason.replace(
            "PORT", str(sink.port)))
        assert sink.messages == [] and sink.logins == []


@pytest.mark.parametrize("sink_options, credentials, reason", [
    ({"password": "right"}, ("releases", "wrong"),
     "Authentication to 127.0.0.1:PORT failed, please check your username and/or password"),
    ({"auth": False}, ("releases", "pw"), "No Authentication on the server at 127.0.0.1:PORT"),
    ({}, ("releases", None), "parameters are required together: password, username"),
])
def test_a_refused_login_is_named(sink_options, credentials, reason):
    sink = SmtpSink(**sink_options)
    target = {"type": "email", "name": "mail", "host": "127.0.0.1", "port": sink.port, "sender": "a@example.com",
              "to": ["b@example.com"], "secure": "never", "username": credentials[0], "password": credentials[1]}
    try:
        failures = send([target])
    finally:
        sink.close()
    assert failures == ["Notification of aborted to mail (email) failed: %s; the release goes on." % reason.replace(
        "PORT", str(sink.port))]
    assert sink.messages == []


def run_module(args, *options):
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m",
               "terragonlabs.progressive_delivery.release_notify", "-a", json.dumps(args), *options]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_module_sends_nothing_in_check_mode(http):
    targets = [{"type": "webhook", "url": http.url + "/ok"},
               {"type": "slack", "url": http.url + "/ok", "events": ["promoted"]}]
    run = run_module({"event": "aborted", "app": "web", "namespace": "shop", "targets": targets}, "--check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "\n    sent: 0\n    wanted: 1\n" in run.stdout
    assert http.requests == []


def test_the_module_warns_of_each_failure_and_never_shows_a_secret(http):
    secrets = ["/broken/url-secret", "routing-secret", "signing-secret", "header-token"]
    run = run_module({"event": "gate_failed", "app": "web", "namespace": "shop", "version": "1.2.0",
                      "targets": [{"type": "webhook", "name": "audit", "url": http.url + secrets[0],
                                   "secret": secrets[2], "headers": {"Authorization": secrets[3]}},
                                  {"type": "pagerduty", "url": http.url + "/broken", "routing_key": secrets[1]},
                                  {"type": "slack", "url": http.url + "/ok"}]}, "-vvv")
    assert run.returncode == 0, run.stdout + run.stderr
    for secret in secrets:
        assert secret not in run.stdout + run.stderr
    warnings = " ".join(run.stderr.split())
    assert "[WARNING]: Notification of gate_failed to audit (webhook) failed: HTTP 500; the release goes on." in warnings
    assert "[WARNING]: Notification of gate_failed to pagerduty (pagerduty) failed: HTTP 500; the release" in warnings
    assert "\n    sent: 1\n    wanted: 3\n" in run.stdout
    assert len(http.requests) == 3
