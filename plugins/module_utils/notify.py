# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release notifications: one event of a release sent to Slack-compatible incoming webhooks,
generic JSON webhooks (optionally signed with HMAC-SHA256), PagerDuty's Events API v2 and SMTP.

The one implementation of sending: the release_notify module (and through it the notify role)
calls send_event, and so does anything that reports a release from Python. A target that cannot
be reached or answers with an error never raises; it is described in one line that never quotes
the target's url, routing key, password or signing secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import re
import smtplib
import ssl
import time
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from http.client import BadStatusLine
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.urls import ConnectionError as RequestError, open_url

EVENTS = ("started", "step_completed", "paused", "promoted", "aborted", "rolled_back", "gate_failed", "guard_alert")
TARGET_TYPES = ("slack", "webhook", "email", "pagerduty")
# PagerDuty pages on failures and resolves the incident when the release is promoted;
# chat, webhook and email targets hear everything.
DEFAULT_EVENTS = {
    "slack": EVENTS,
    "webhook": EVENTS,
    "email": EVENTS,
    "pagerduty": ("gate_failed", "aborted", "rolled_back", "promoted"),
}
# Slack attachment colors: blue while a release moves, amber when it waits for a person,
# green when it is promoted, red when it fails.
COLORS = {
    "started": "#439FE0",
    "step_completed": "#439FE0",
    "paused": "#DAA038",
    "promoted": "#2EB67D",
    "aborted": "#E01E5A",
    "rolled_back": "#E01E5A",
    "gate_failed": "#E01E5A",
    "guard_alert": "#DAA038",
}
HTTP_SUCCESS = (200, 201, 202, 204)
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
SIGNATURE_HEADER = "X-Signature-256"
# What a target must have, by type, and the parts of a target never printed.
REQUIRED = {"slack": ("url",), "webhook": ("url",), "pagerduty": ("routing_key",), "email": ("host", "sender", "to")}
SECRET_OPTIONS = ("url", "routing_key", "password", "secret")
# Fields of the email body, in order, each listed when not empty.
EMAIL_FIELDS = ("app", "version", "namespace", "environment", "strategy", "event", "timestamp")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


TARGET_OPTIONS = dict(
    type=dict(type="str", required=True, choices=list(TARGET_TYPES)),
    name=dict(type="str"),
    events=dict(type="list", elements="str", choices=list(EVENTS)),
    url=dict(type="str", no_log=True),
    headers=dict(type="dict", default={}, no_log=True),
    secret=dict(type="str", no_log=True),
    signature_header=dict(type="str", default="X-Signature-256"),
    validate_certs=dict(type="bool", default=True),
    routing_key=dict(type="str", no_log=True),
    severity=dict(type="str", default="warning", choices=["critical", "error", "warning", "info"]),
    host=dict(type="str"),
    port=dict(type="int", default=25),
    sender=dict(type="str"),
    to=dict(type="list", elements="str"),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    secure=dict(type="str", default="try", choices=["always", "never", "starttls", "try"]),
)
# Paired with REQUIRED, which send_event checks for callers that skip the argument spec.
TARGET_REQUIRED_IF = [["type", kind, list(options)] for kind, options in sorted(REQUIRED.items())]


def hmac_sha256(text, key):
    """HMAC-SHA256 of the UTF-8 bytes of text keyed with the UTF-8 bytes of key, as lowercase hex."""
    return hmac.new(to_bytes(key), to_bytes(text), hashlib.sha256).hexdigest()


def default_message(app, version, event):
    """The line sent when the caller has none: APP VERSION EVENT."""
    return "%s %s %s" % (app, version, event.replace("_", " "))


def wants(target, event):
    """Whether the target wants the event: its own events if it lists them (an empty list wants
    none), else its type's defaults (every event for a type this module does not know, so that
    such a target is reported rather than silently skipped)."""
    events = target.get("events")
    if events is None:
        events = DEFAULT_EVENTS.get(target.get("type"), EVENTS)
    return event in events


def send_event(targets, event, app, namespace, version, strategy, message, details=None, environment="", timeout=10):
    """Sends the event to each target that wants it (target['events'] if given, else the type's defaults), in order.
    Returns a list of one-line failure descriptions (empty when all succeeded), each redacted of the target's url,
    routing_key, password and secret, worded as the role words them today:
    "Notification of EVENT to LABEL (TYPE) failed: WHY; the release goes on." Never raises for a target's failure.

    message None means APP VERSION EVENT. Raises ValueError only for a caller's mistake: an event
    not in EVENTS, or targets that are not a list of dicts."""
    if event not in EVENTS:
        raise ValueError("event must be one of %s, got %r" % (", ".join(EVENTS), event))
    if not isinstance(targets, (list, tuple)) or not all(isinstance(target, dict) for target in targets):
        raise ValueError("targets must be a list of dicts")
    version = "" if version is None else str(version)
    event_info = {
        "event": event, "app": app, "namespace": namespace, "version": version, "strategy": strategy or "",
        "environment": environment or "",
        "message": default_message(app, version, event) if message is None else message,
        "details": details or {},
    }
    failures = []
    for target in targets:
        if not wants(target, event):
            continue
        reason = _send_to(target, event_info, timeout)
        if reason is not None:
            failures.append("Notification of %s to %s (%s) failed: %s; the release goes on." % (
                event, target.get("name") or target.get("type"), target.get("type"), _redacted(reason, target)))
    return failures


def _redacted(text, target):
    # Longest first, so that a secret that begins another one cannot leave the other's tail behind.
    secrets = sorted((str(target[option]) for option in SECRET_OPTIONS if target.get(option)), key=len, reverse=True)
    return re.sub("|".join(re.escape(secret) for secret in secrets), "<redacted>", text) if secrets else text


def _send_to(target, event_info, timeout):
    """None when the target took the event, else why not."""
    kind = target.get("type")
    if kind not in TARGET_TYPES:
        return "unknown target type (one of %s)" % ", ".join(TARGET_TYPES)
    missing = [option for option in REQUIRED[kind] if not target.get(option)]
    if missing:
        return "the target has no %s" % " or ".join(missing)
    fields = event_fields(event_info, utc_timestamp())
    try:
        if kind == "email":
            return _send_email(target, title(fields), email_body(fields), timeout)
        body, headers = _http_request(kind, target, fields)
        url = target.get("url") or PAGERDUTY_URL
        validate_certs = target.get("validate_certs")
        return _post(url, body, headers, timeout, True if validate_certs is None else validate_certs)
    except Exception as error:  # a notification never stops a release
        return "sending stopped with an error: %s: %s" % (type(error).__name__, to_native(error))


def utc_timestamp():
    """Now, as the timestamp every target carries: taken for each target as it is sent to."""
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime())


def event_fields(event_info, timestamp):
    """The fields every target carries, in this order; the generic webhook posts exactly these."""
    fields = dict((name, event_info[name]) for name in (
        "event", "app", "namespace", "version", "strategy", "environment", "message", "details"))
    fields["timestamp"] = timestamp
    return fields


def title(fields):
    """APP VERSION EVENT (ENVIRONMENT, NAMESPACE): a mail's subject, the head of a Slack message."""
    return "%s %s %s (%s)" % (fields["app"], fields["version"], fields["event"].replace("_", " "),
                              ", ".join(value for value in (fields["environment"], fields["namespace"]) if value))


def _detail_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def details_text(details):
    """KEY: VALUE; KEY: VALUE - strings as they are, anything else as JSON."""
    return "; ".join("%s: %s" % (key, _detail_text(value)) for key, value in details.items())


def email_body(fields):
    lines = ["%s: %s" % (name, fields[name]) for name in EMAIL_FIELDS if fields[name]]
    lines += ["%s: %s" % (key, _detail_text(value)) for key, value in fields["details"].items()]
    return "%s\n\n%s" % (fields["message"], "".join(line + "\n" for line in lines))


def slack_body(fields):
    labelled = [("Application", "app"), ("Version", "version"), ("Namespace", "namespace"),
                ("Environment", "environment"), ("Strategy", "strategy"), ("Event", "event")]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*%s*\n%s" % (title(fields), fields["message"])}},
              {"type": "section", "fields": [{"type": "mrkdwn", "text": "*%s*\n%s" % (label, fields[name])}
                                             for label, name in labelled if fields[name]]}]
    if fields["details"]:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": details_text(fields["details"])}]})
    return {"text": fields["message"],
            "attachments": [{"color": COLORS[fields["event"]], "fallback": fields["message"], "blocks": blocks}]}


def pagerduty_body(target, fields):
    # One incident per release: its gate failure and abort merge, its promotion resolves it.
    head = {"routing_key": target["routing_key"],
            "event_action": "resolve" if fields["event"] == "promoted" else "trigger",
            "dedup_key": "%s/%s/%s" % (fields["app"], fields["namespace"], fields["version"])}
    if fields["event"] == "promoted":
        return head
    head["client"] = "terragonlabs.progressive_delivery"
    head["payload"] = {
        "summary": fields["message"][:1024], "source": "%s.%s" % (fields["app"], fields["namespace"]),
        "severity": target.get("severity") or "warning", "timestamp": fields["timestamp"],
        "component": fields["app"], "group": fields["namespace"], "class": fields["event"], "custom_details": fields}
    return head


def _http_request(kind, target, fields):
    """(body text, headers) of a slack, pagerduty or webhook target."""
    headers = {"Content-Type": "application/json"}
    if kind == "slack":
        return json.dumps(slack_body(fields)), headers
    if kind == "pagerduty":
        return json.dumps(pagerduty_body(target, fields)), headers
    # Serialised once and sent as is, so the signature covers exactly the bytes received.
    body = json.dumps(fields, sort_keys=True)
    headers.update(target.get("headers") or {})
    if target.get("secret"):
        headers[target.get("signature_header") or SIGNATURE_HEADER] = "sha256=" + hmac_sha256(body, str(target["secret"]))
    return body, headers


def _post(url, body, headers, timeout, validate_certs):
    """None when the endpoint answered with a success status, else why not - as ansible.builtin.uri
    reports it: HTTP STATUS, or the transport error."""
    try:
        response = open_url(str(url), data=to_bytes(body), headers=headers, method="POST", timeout=timeout,
                            validate_certs=validate_certs, http_agent="ansible-httpget", follow_redirects="safe")
        try:
            response.read()
            status = response.getcode()
        finally:
            response.close()
    except HTTPError as error:
        if error.fp is not None:
            error.close()
        status = error.code
    except URLError as error:
        return "Request failed: %s" % to_native(error)
    except (RequestError, ValueError) as error:  # TLS validation, proxy, a malformed url
        return to_native(error)
    except OSError as error:
        return "Connection failure: %s" % to_native(error)
    except BadStatusLine as error:
        return "Connection failure: connection was closed before a valid response was received: %s" % (
            to_native(error.line))
    return None if status in HTTP_SUCCESS else "HTTP %s" % status


class _MailRefused(Exception):
    """The mail was not sent, for the reason given."""


def _send_email(target, subject, body, timeout):
    """None when the server took the mail, else why not. TLS as community.general.mail's secure:
    always - implicit TLS only; try - implicit TLS, else STARTTLS if offered, else plain;
    starttls - implicit TLS, else STARTTLS, never plain; never - plain."""
    host, port = target["host"], target.get("port") or 25
    secure = target.get("secure") or "try"
    username, password = target.get("username"), target.get("password")
    if (username is None) != (password is None):
        return "parameters are required together: password, username"
    where = "%s:%s" % (host, port)
    smtp = None
    try:
        smtp = _smtp_session(host, port, secure, timeout, where)
        if username and password:
            if not smtp.has_extn("AUTH"):
                raise _MailRefused("No Authentication on the server at %s" % where)
            try:
                smtp.login(username, password)
            except smtplib.SMTPAuthenticationError:
                raise _MailRefused("Authentication to %s failed, please check your username and/or password" % where)
            except smtplib.SMTPException:
                raise _MailRefused("No Suitable authentication method was found on %s" % where)
        sender, recipients, text = _mail(target, subject, body)
        try:
            refused = smtp.sendmail(sender, recipients, text)
        except Exception as error:
            raise _MailRefused("Failed to send mail to '%s': %s" % (", ".join(recipients), to_native(error)))
        if refused:
            raise _MailRefused("; ".join("Failed to send mail to '%s': %s %s" % (
                address, code, to_native(reply)) for address, (code, reply) in sorted(refused.items())))
    except _MailRefused as refusal:
        return to_native(refusal)
    except (OSError, smtplib.SMTPException) as error:
        return "sending stopped with an error (is the server reachable?): %s" % to_native(error)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:
                smtp.close()
    return None


def _smtp_session(host, port, secure, timeout, where):
    """A connected SMTP session, greeted, encrypted as secure asks."""
    smtp, encrypted = None, False
    if secure != "never":
        try:
            smtp, encrypted = smtplib.SMTP_SSL(host, port, timeout=timeout), True
        except ssl.SSLError as error:
            if secure == "always":
                raise _MailRefused("Unable to start an encrypted session to %s: %s" % (where, to_native(error)))
        except (OSError, smtplib.SMTPException):
            if secure == "always":
                raise
    if smtp is None:
        try:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        except smtplib.SMTPException as error:
            raise _MailRefused("Unable to Connect %s: %s" % (where, to_native(error)))
    try:
        _ehlo(smtp, where)
        if not encrypted and secure in ("starttls", "try"):
            if smtp.has_extn("STARTTLS"):
                try:
                    smtp.starttls()
                except (smtplib.SMTPException, ssl.SSLError) as error:
                    raise _MailRefused("Unable to start an encrypted session to %s: %s" % (where, to_native(error)))
                _ehlo(smtp, where)
            elif secure == "starttls":
                raise _MailRefused("StartTLS is not offered on server %s" % where)
    except Exception:
        smtp.close()
        raise
    return smtp


def _ehlo(smtp, where):
    try:
        smtp.ehlo()
    except smtplib.SMTPException as error:
        raise _MailRefused("Helo failed for host %s: %s" % (where, to_native(error)))


def _mail(target, subject, body):
    """(envelope sender, envelope recipients, message text) as community.general.mail composes them."""
    sender_phrase, sender = parseaddr(target["sender"])
    to = target["to"].split(",") if isinstance(target["to"], str) else target["to"]  # as a list option takes it
    recipients = [address.strip() for address in to]
    message = MIMEMultipart(_charset="utf-8")
    message["From"] = formataddr((sender_phrase, sender))
    message["Date"] = formatdate(localtime=True)
    message["Subject"] = Header(subject, "utf-8")
    message["Message-ID"] = make_msgid(domain="ansible")
    message.preamble = "Multipart message"
    message.add_header("X-Mailer", "Ansible mail module")
    message["To"] = ", ".join(formataddr(parseaddr(address)) for address in recipients)
    message["Cc"] = ""
    message.attach(MIMEText(body + "\n\n", _subtype="plain", _charset="utf-8"))
    envelope = []
    for address in recipients:
        if parseaddr(address)[1] not in envelope:
            envelope.append(parseaddr(address)[1])
    return sender, envelope, message.as_string()
