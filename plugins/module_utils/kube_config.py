# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where and how to reach the Kubernetes API, resolved from kubernetes.core's connection options
with kubernetes.core's precedence, without importing the kubernetes library on the common path.

Order (as kubernetes.core's k8s/client.py): each option from the module's parameters, else its
K8S_AUTH_* environment variable. host plus credentials (username and password, api_key, or
client_cert and client_key) is used as given; otherwise kubeconfig (a path, a list of paths
joined by ':' as KUBECONFIG allows, or a dict) and context are read, and with neither given the
in-cluster service account is tried first and the default kubeconfig (KUBECONFIG, else
~/.kube/config) after it. The options given then override what was loaded. Kubeconfig users that
need code to get credentials (exec plugins, auth-provider) are handed to kubernetes.config, which
is imported only then.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import base64
import os
import shutil
import tempfile
import traceback

try:
    import yaml
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

# kubernetes.core's option name -> the kubernetes client's name, which the environment may use too.
AUTH_OPTIONS = (
    ("kubeconfig", "kubeconfig"), ("context", "context"), ("host", "host"), ("api_key", "api_key"),
    ("username", "username"), ("password", "password"), ("validate_certs", "verify_ssl"),
    ("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"), ("client_key", "key_file"),
    ("proxy", "proxy"), ("no_proxy", "no_proxy"), ("proxy_headers", "proxy_headers"),
    ("persist_config", "persist_config"), ("impersonate_user", "impersonate_user"),
    ("impersonate_groups", "impersonate_groups"),
)
BOOLEAN_OPTIONS = ("validate_certs", "persist_config")
PROXY_HEADER_OPTIONS = ("proxy_basic_auth", "basic_auth", "user_agent")
FALSE_WORDS = ("0", "false", "no")

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeConfigError(Exception):
    """The connection settings cannot be loaded; the message says which and why."""


class Connection(object):
    """Everything needed to open connections to one API server and authenticate on it."""

    def __init__(self, host, verify_ssl=True, ca_cert=None, client_cert=None, client_key=None,
                 tls_server_name=None, authorization=None, proxy=None, no_proxy=None,
                 proxy_headers=None, impersonate_user=None, impersonate_groups=None):
        self.host = host
        self.verify_ssl = verify_ssl
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.tls_server_name = tls_server_name
        self.authorization = authorization
        self.proxy = proxy
        self.no_proxy = no_proxy
        self.proxy_headers = proxy_headers or {}
        self.impersonate_user = impersonate_user
        self.impersonate_groups = impersonate_groups or []

    def __repr__(self):
        shown = dict(self.__dict__, authorization="<hidden>" if self.authorization else None)
        return "Connection(%s)" % ", ".join("%s=%r" % item for item in sorted(shown.items()))


def auth_options(params, environ=None):
    """{option: value} of the options that are set, each from params, else from K8S_AUTH_*."""
    environ = os.environ if environ is None else environ
    options = {}
    for name, client_name in AUTH_OPTIONS:
        if params.get(name) is not None:
            options[name] = params[name]
        elif name == "proxy_headers":
            headers = {}
            for key in PROXY_HEADER_OPTIONS:
                value = environ.get("K8S_AUTH_PROXY_HEADERS_%s" % key.upper())
                if value is not None:
                    headers[key] = value
            if headers:
                options[name] = headers
        else:
            value = environ.get("K8S_AUTH_%s" % name.upper()) or environ.get("K8S_AUTH_%s" % client_name.upper())
            if value is None:
                continue
            if name in BOOLEAN_OPTIONS:
                value = value.lower() not in FALSE_WORDS
            elif name == "impersonate_groups":
                value = [group for group in value.split(",") if group]
            options[name] = value
    return options


def basic_authorization(username, password):
    token = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
    return "Basic %s" % token


def proxy_header_values(proxy_headers):
    """proxy_headers options -> HTTP headers, as urllib3.util.make_headers builds them."""
    headers = {}
    if proxy_headers.get("user_agent"):
        headers["user-agent"] = proxy_headers["user_agent"]
    if proxy_headers.get("basic_auth"):
        headers["authorization"] = "Basic %s" % base64.b64encode(
            proxy_headers["basic_auth"].encode("latin-1")).decode()
    if proxy_headers.get("proxy_basic_auth"):
        headers["proxy-authorization"] = "Basic %s" % base64.b64encode(
            proxy_headers["proxy_basic_auth"].encode("latin-1")).decode()
    return headers


def resolve_connection(params, environ=None):
    """The Connection for a task's parameters; raises KubeConfigError when none can be built."""
    environ = os.environ if environ is None else environ
    options = auth_options(params, environ)
    if options.get("host"):
        options["host"] = options["host"].rstrip("/")

    def given(*names):
        return all(options.get(name) for name in names)

    if given("username", "password", "host") or given("api_key", "host") or given("client_cert", "client_key", "host"):
        loaded = {}
    elif given("kubeconfig") or given("context"):
        loaded = load_kubeconfig(options, environ)
    else:
        loaded = load_in_cluster(environ)
        if loaded is None:
            loaded = load_kubeconfig(options, environ)

    settings = dict(verify_ssl=True)
    settings.update(loaded)
    for name, key in (("host", "host"), ("validate_certs", "verify_ssl"), ("ca_cert", "ca_cert"),
                      ("client_cert", "client_cert"), ("client_key", "client_key"), ("proxy", "proxy"),
                      ("no_proxy", "no_proxy"), ("impersonate_user", "impersonate_user"),
                      ("impersonate_groups", "impersonate_groups")):
        if options.get(name) is not None:
            settings[key] = options[name]
    if options.get("api_key") is not None:
        settings["authorization"] = "Bearer %s" % options["api_key"]
    elif options.get("username") is not None and options.get("password") is not None and not loaded:
        settings["authorization"] = basic_authorization(options["username"], options["password"])
    if options.get("proxy_headers"):
        settings["proxy_headers"] = proxy_header_values(options["proxy_headers"])
    if not settings.get("host"):
        raise KubeConfigError("no API server: give host, or a kubeconfig or context to read it from")
    return Connection(**settings)


def load_in_cluster(environ):
    """The pod's service account settings, or None outside a pod (as kubernetes.config decides)."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    token_file, ca_file = (os.path.join(SERVICE_ACCOUNT_DIR, name) for name in ("token", "ca.crt"))
    if not host or not port or not os.path.isfile(token_file) or not os.path.isfile(ca_file):
        return None
    with open(token_file) as stream:
        token = stream.read().strip()
    if not token:
        return None
    if ":" in host or "%" in host:
        host = "[%s]" % host
    return {"host": "https://%s:%s" % (host, port), "ca_cert": ca_file, "authorization": "Bearer %s" % token}


def load_kubeconfig(options, environ):
    """Settings from the kubeconfig (path, ':'-joined paths or dict) and context in options."""
    if YAML_IMPORT_ERROR:
        raise KubeConfigError("reading a kubeconfig needs the PyYAML Python library")
    kubeconfig = options.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        config, base_paths = kubeconfig, {}
    else:
        config, base_paths = merge_kubeconfig_files(kubeconfig or environ.get("KUBECONFIG") or "~/.kube/config")
    context_name = options.get("context") or config.get("current-context")
    if not context_name:
        raise KubeConfigError("the kubeconfig names no current-context; give context")
    context = named(config, "contexts", context_name)["context"] or {}
    cluster = named(config, "clusters", context.get("cluster"))["cluster"] or {}
    user_entry = named(config, "users", context.get("user"), optional=True) if context.get("user") else None
    user = (user_entry or {}).get("user") or {}
    if "auth-provider" in user or ("exec" in user and not user.get("token") and not user.get("tokenFile")):
        return load_with_kubernetes_library(options, kubeconfig)
    if "server" not in cluster:
        raise KubeConfigError("cluster %s of the kubeconfig has no server" % context.get("cluster"))

    cluster_base = base_paths.get(("clusters", context.get("cluster")), "")
    user_base = base_paths.get(("users", context.get("user")), "")
    settings = {"host": cluster["server"].rstrip("/")}
    if settings["host"].startswith("https"):
        # As kubernetes.config: every file of the kubeconfig is relative to the cluster's file.
        settings["ca_cert"] = file_or_data(cluster, "certificate-authority", cluster_base)
        settings["client_cert"] = file_or_data(user, "client-certificate", cluster_base)
        settings["client_key"] = file_or_data(user, "client-key", cluster_base)
    if "insecure-skip-tls-verify" in cluster:
        settings["verify_ssl"] = not cluster["insecure-skip-tls-verify"]
    if "tls-server-name" in cluster:
        settings["tls_server_name"] = cluster["tls-server-name"]
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(os.path.join(user_base, user["tokenFile"])) as stream:
            token = stream.read().strip()  # a trailing newline is not part of the token
    if token:
        settings["authorization"] = "Bearer %s" % token
    elif "username" in user and "password" in user:
        settings["authorization"] = basic_authorization(user["username"], user["password"])
    return settings


def merge_kubeconfig_files(paths):
    """One kubeconfig from ':'-joined paths, as kubernetes.config merges them: the first entry of
    each name wins, the last current-context wins. Also {(section, name): directory of its file}."""
    merged = {"clusters": [], "contexts": [], "users": []}
    base_paths = {}
    found = False
    for path in paths.split(os.pathsep):
        path = os.path.expanduser(path) if path else path
        if not path or not os.path.exists(path):
            continue
        found = True
        with open(path) as stream:
            # libyaml's safe loader, when PyYAML was built with it, reads a kubeconfig ten times faster.
            config = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(config, dict):
            raise KubeConfigError("the kubeconfig %s is empty or not a mapping" % path)
        for section in ("clusters", "contexts", "users"):
            for entry in config.get(section) or []:
                key = (section, entry.get("name"))
                if key not in base_paths:
                    base_paths[key] = os.path.dirname(os.path.abspath(path))
                    merged[section].append(entry)
        if "current-context" in config:
            merged["current-context"] = config["current-context"]
    if not found:
        raise KubeConfigError("no kubeconfig found at %s" % paths)
    return merged, base_paths


def named(config, section, name, optional=False):
    entries = [entry for entry in config.get(section) or [] if isinstance(entry, dict) and entry.get("name") == name]
    if len(entries) > 1:
        raise KubeConfigError("the kubeconfig has several %s named %s" % (section, name))
    if not entries:
        if optional:
            return None
        raise KubeConfigError("the kubeconfig has no %s entry named %s" % (section[:-1], name))
    return entries[0]


def file_or_data(entry, key, base_path):
    """The path of entry[key], or of a private file holding base64-decoded entry[key + '-data']."""
    data = entry.get(key + "-data")
    if data:
        return private_file(base64.standard_b64decode(data))
    if entry.get(key):
        path = os.path.normpath(os.path.join(base_path, entry[key]))
        if not os.path.isfile(path):
            raise KubeConfigError("the kubeconfig's %s file does not exist: %s" % (key, path))
        return path
    return None


_PRIVATE_DIR = []


def private_file(content):
    """A file only this user can read, removed when the module exits; ssl needs paths."""
    if not _PRIVATE_DIR:
        _PRIVATE_DIR.append(tempfile.mkdtemp(prefix="pd-kube-"))
        atexit.register(remove_private_files)
    handle, path = tempfile.mkstemp(dir=_PRIVATE_DIR[0])
    with os.fdopen(handle, "wb") as stream:
        stream.write(content)
    return path


def remove_private_files():
    """Removes the private files now: work run inside ansible's worker process calls it, as that
    process ends without running atexit's functions."""
    while _PRIVATE_DIR:
        shutil.rmtree(_PRIVATE_DIR.pop(), True)


def load_with_kubernetes_library(options, kubeconfig):
    """Credentials that need code (exec plugins, auth-provider), as kubernetes.config gets them."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise KubeConfigError("the kubeconfig user needs an exec plugin or auth-provider, which needs "
                              "the kubernetes Python library (pip install kubernetes): %s"
                              % traceback.format_exc().strip().splitlines()[-1])
    configuration = client.Configuration()
    arguments = dict(context=options.get("context"), client_configuration=configuration,
                     persist_config=bool(options.get("persist_config")))
    try:
        if isinstance(kubeconfig, dict):
            config.load_kube_config_from_dict(config_dict=kubeconfig, **arguments)
        else:
            config.load_kube_config(config_file=kubeconfig, **arguments)
    except config.ConfigException as error:
        raise KubeConfigError(str(error))
    return {"host": configuration.host, "verify_ssl": configuration.verify_ssl,
            "ca_cert": configuration.ssl_ca_cert, "client_cert": configuration.cert_file,
            "client_key": configuration.key_file, "tls_server_name": configuration.tls_server_name,
            "authorization": configuration.api_key.get("authorization")}
