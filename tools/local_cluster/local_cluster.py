"""A real Kubernetes control plane, Prometheus, Alertmanager, the guard's ansible-rulebook and a
traffic simulator on loopback.

    local_cluster.py up       start everything (harmless when already running)
    local_cluster.py down     stop what `up` started (by PID) and remove its data
    local_cluster.py status   print what runs and where
    local_cluster.py env      print shell exports for the kubeconfig and Prometheus

--index N (or PD_CLUSTER_INDEX=N) picks another independent cluster beside the default one (index 0):
every port moves by N x 1000, the state directory is cluster-N and the kubeconfig context
progressive-delivery-local-N, so a second and third cluster need nothing else. PD_CLUSTER_DIR and the
PD_*_PORT variables still override what the index derives.

kube-apiserver (RBAC on), etcd, kube-controller-manager and kube-scheduler are the real
Kubernetes components; kwok simulates the nodes and the pods' lifecycle, so Deployments roll out
exactly as on a real cluster without any container runtime.

Binaries are taken, in order, from the PD_<NAME> environment variable (PD_KUBE_APISERVER,
PD_KUBE_CONTROLLER_MANAGER, PD_KUBE_SCHEDULER, PD_ETCD, PD_KWOK, PD_PROMETHEUS, PD_ALERTMANAGER),
from PATH, or from the build cache that build-binaries.sh fills (building them when missing).

Prometheus loads the PrometheusRules of every namespace (prometheus_rules.py, as the Prometheus
Operator would) and sends their alerts to Alertmanager, whose webhook feeds ansible-rulebook running
the collection's guard rulebook against inventories/local.
"""

import argparse
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import processes  # noqa: E402  (tools/processes.py, shared with tools/local_awx)

import pki

HERE = Path(__file__).resolve().parent
CACHE_DIR = Path(os.environ.get("PD_CACHE_DIR") or
                 Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "progressive-delivery")
KUBE_VERSION = os.environ.get("PD_KUBE_VERSION", "v1.34.4")
ETCD_VERSION = os.environ.get("PD_ETCD_VERSION", "v3.6.16")
KWOK_VERSION = os.environ.get("PD_KWOK_VERSION", "v0.8.0")
NODE_COUNT = int(os.environ.get("PD_NODE_COUNT", "3"))
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"

DEFAULT_PORTS = {
    "etcd": ("PD_ETCD_PORT", 23790),
    "etcd-peer": ("PD_ETCD_PEER_PORT", 23800),
    "kube-apiserver": ("PD_APISERVER_PORT", 26443),
    "kube-controller-manager": ("PD_CONTROLLER_MANAGER_PORT", 26257),
    "kube-scheduler": ("PD_SCHEDULER_PORT", 26259),
    "kwok": ("PD_KWOK_PORT", 26247),
    "prometheus": ("PD_PROMETHEUS_PORT", 29090),
    "traffic-simulator": ("PD_SIMULATOR_PORT", 29100),
    "alertmanager": ("PD_ALERTMANAGER_PORT", 29093),
    "ansible-rulebook": ("PD_RULEBOOK_PORT", 29500),
}
# Clusters beside the default one move every port by index x PORT_STEP; up to MAX_INDEX the highest
# (the rulebook's, 32500) stays below Linux's ephemeral range, where clients' own ports come from.
PORT_STEP = 1000
MAX_INDEX = 3
CONTEXT = "progressive-delivery-local"
# Components in start order; `down` stops them in reverse. prometheus-rules has no port.
ALL_COMPONENTS = ["alertmanager", "ansible-rulebook", "etcd", "kube-apiserver", "kube-controller-manager",
                  "kube-scheduler", "kwok", "prometheus", "traffic-simulator", "prometheus-rules"]
# The guard runs beside the default cluster only: its rulebook acts through inventories/local, whose
# context is the default cluster's.
GUARD_COMPONENTS = ("alertmanager", "ansible-rulebook")
REPO = HERE.parents[1]


class ClusterError(Exception):
    """A failure to report plainly, without a traceback."""


@dataclass
class Paths:
    root: Path

    @property
    def pki(self):
        return self.root / "pki"

    @property
    def kubeconfig(self):
        return self.root / "kubeconfig"

    @property
    def info(self):
        return self.root / "cluster.json"

    def pid(self, component):
        return self.root / "run" / f"{component}.pid"

    def log(self, component):
        return self.root / "logs" / f"{component}.log"


def settings(index, environ):
    """Ports, state directory and kubeconfig context of the cluster with this index (0: the default
    one), each overridable by its own environment variable."""
    if not 0 <= index <= MAX_INDEX:
        raise ClusterError(f"the cluster index must be 0 to {MAX_INDEX}, got {index}")
    suffix = f"-{index}" if index else ""
    state_home = Path(environ.get("XDG_STATE_HOME") or Path(environ.get("HOME") or Path.home()) / ".local/state")
    return {
        "ports": {name: int(environ.get(variable, port + index * PORT_STEP))
                  for name, (variable, port) in DEFAULT_PORTS.items()},
        "directory": Path(environ.get("PD_CLUSTER_DIR") or state_home / f"progressive-delivery/cluster{suffix}"),
        "context": CONTEXT + suffix,
        "components": [c for c in ALL_COMPONENTS if index == 0 or c not in GUARD_COMPONENTS],
    }


def configure(index):
    """Points the tool at the cluster with this index."""
    global PORTS, PATHS, KUBE_CONTEXT, COMPONENTS
    chosen = settings(index, os.environ)
    PORTS, PATHS, KUBE_CONTEXT = chosen["ports"], Paths(chosen["directory"]), chosen["context"]
    COMPONENTS = chosen["components"]


def _index(value):
    try:
        return int(value or 0)
    except ValueError:
        raise ClusterError(f"the cluster index must be a whole number, got {value!r}") from None


# Importers (the tests, the benchmarks) get the default cluster; the command line picks with --index.
configure(0)


def log(message):
    print(f"local-cluster: {message}", flush=True)


# --- processes -------------------------------------------------------------------------------

def _read_pid(component):
    return processes.read_pid(PATHS, component)


def _start(component, argv, env=None, cwd=None):
    return processes.start(PATHS, component, argv, env=env, cwd=cwd)


def _stop(component, grace=10.0):
    return processes.stop(PATHS, component, grace)


def _log_tail(component, lines=25):
    return processes.log_tail(PATHS, component, lines)


def _wait(component, check, timeout):
    """Polls check() until it returns truthy; fails naming the component and its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _read_pid(component) is None:
            raise ClusterError(f"{component} exited during start-up; its log ends with:\n"
                               f"{_log_tail(component)}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ssl.SSLError):
            pass
        time.sleep(0.25)
    raise ClusterError(f"{component} did not become healthy within {timeout:.0f}s; log "
                       f"{PATHS.log(component)} ends with:\n{_log_tail(component)}")


# --- binaries --------------------------------------------------------------------------------

def _cached(name):
    directory = {"kube-apiserver": f"kubernetes-{KUBE_VERSION}",
                 "kube-controller-manager": f"kubernetes-{KUBE_VERSION}",
                 "kube-scheduler": f"kubernetes-{KUBE_VERSION}",
                 "etcd": f"etcd-{ETCD_VERSION}",
                 "kwok": f"kwok-{KWOK_VERSION}"}[name]
    return CACHE_DIR / "bin" / directory / name


def resolve_binaries():
    """Finds every binary, building the missing ones once."""
    names = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok"]

    def find(name):
        override = os.environ.get("PD_" + name.upper().replace("-", "_"))
        if override:
            if not os.access(override, os.X_OK):
                raise ClusterError(f"PD_{name.upper().replace('-', '_')}={override} is not an "
                                   f"executable file")
            return override
        return shutil.which(name) or (str(_cached(name)) if os.access(_cached(name), os.X_OK) else None)

    found = {name: find(name) for name in names}
    if not all(found.values()) or not _crd_dir():
        missing = ", ".join(n for n, p in found.items() if not p) or "router CRDs"
        log(f"building what is missing ({missing}) with tools/local_cluster/build-binaries.sh")
        result = subprocess.run(["bash", str(HERE / "build-binaries.sh"), str(CACHE_DIR / "bin")],
                                check=False)
        if result.returncode != 0:
            raise ClusterError("building the cluster binaries failed (see the output above); "
                               "nothing was started")
        found = {name: find(name) for name in names}
    prometheus = os.environ.get("PD_PROMETHEUS") or shutil.which("prometheus")
    if not prometheus:
        raise ClusterError("prometheus is not installed: run tools/bootstrap.sh (it installs "
                           "Debian's prometheus package) or set PD_PROMETHEUS")
    found["prometheus"] = prometheus
    alertmanager = os.environ.get("PD_ALERTMANAGER") or shutil.which("prometheus-alertmanager")
    rulebook = shutil.which("ansible-rulebook", path=str(Path(sys.executable).parent))
    java_home = next(Path("/usr/lib/jvm").glob("java-17-openjdk-*"), None)
    if not (alertmanager and rulebook and java_home):
        raise ClusterError("prometheus-alertmanager, ansible-rulebook or Java 17 is missing: run "
                           "tools/bootstrap.sh (or set PD_ALERTMANAGER)")
    found.update({"alertmanager": alertmanager, "ansible-rulebook": rulebook, "java-home": str(java_home)})
    return found


def _crd_dir():
    """The CRD set build-binaries.sh fetched last, or None."""
    current = CACHE_DIR / "bin" / "crds"
    return current if (current / "done").exists() else None


# --- health checks ---------------------------------------------------------------------------

def _ssl_context():
    context = ssl.create_default_context(cafile=str(PATHS.pki / "ca.crt"))
    context.load_cert_chain(str(PATHS.pki / "admin.crt"), str(PATHS.pki / "admin.key"))
    return context


def _get(url, context=None, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        return response.status, response.read()


def _healthy_https(url):
    context = ssl._create_unverified_context()  # components' own self-signed serving certs
    return _get(url, context)[0] == 200


def apiserver_url():
    return f"https://127.0.0.1:{PORTS['kube-apiserver']}"


def apiserver_ready(url=None):
    """True when the kube-apiserver at url (the cluster's own by default) answers /readyz."""
    return _get((url or apiserver_url()) + "/readyz", _ssl_context())[0] == 200


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- configuration files ---------------------------------------------------------------------

def _write_kubeconfig():
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": KUBE_CONTEXT,
        "clusters": [{"name": KUBE_CONTEXT, "cluster": {
            "server": apiserver_url(), "certificate-authority": str(PATHS.pki / "ca.crt")}}],
        "users": [{"name": "local-admin", "user": {
            "client-certificate": str(PATHS.pki / "admin.crt"),
            "client-key": str(PATHS.pki / "admin.key")}}],
        "contexts": [{"name": KUBE_CONTEXT, "context": {
            "cluster": KUBE_CONTEXT, "user": "local-admin"}}],
    }
    # JSON is valid YAML, and every kubeconfig reader accepts it.
    PATHS.kubeconfig.write_text(json.dumps(config, indent=2))
    PATHS.kubeconfig.chmod(0o600)


def _write_prometheus_config():
    config_path = PATHS.root / "prometheus.yml"
    simulator = f"127.0.0.1:{PORTS['traffic-simulator']}"
    config_path.write_text(f"""# Written by local_cluster.py
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{PATHS.root / 'rules'}/*.yml"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{PORTS['alertmanager']}"]
scrape_configs:
  - job_name: traffic-simulator
    honor_labels: true
    static_configs:
      - targets: ["{simulator}"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{PORTS['prometheus']}"]
""")
    return config_path


def _write_alertmanager_config():
    """Every alert goes, grouped by namespace and application, to the guard rulebook's webhook at once."""
    config_path = PATHS.root / "alertmanager.yml"
    config_path.write_text(f"""# Written by local_cluster.py
route:
  receiver: guard
  group_by: [namespace, app]
  group_wait: 0s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: guard
    webhook_configs:
      - url: http://127.0.0.1:{PORTS['ansible-rulebook']}/endpoint
        send_resolved: false
""")
    return config_path


def _start_guard(binaries):
    """Alertmanager and ansible-rulebook need nothing else to start, and start slowly: begun first,
    they come up while the control plane does."""
    _start("alertmanager", [
        binaries["alertmanager"], f"--config.file={_write_alertmanager_config()}",
        f"--storage.path={PATHS.root / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{PORTS['alertmanager']}", "--cluster.listen-address=",
        "--log.level=warn"])
    guard_vars = PATHS.root / "guard-vars.yml"
    guard_vars.write_text(json.dumps({"guard_webhook_host": "127.0.0.1",
                                      "guard_webhook_port": PORTS["ansible-rulebook"]}))
    _start("ansible-rulebook", [
        binaries["ansible-rulebook"], "--rulebook", "terragonlabs.progressive_delivery.guard",
        "--inventory", str(REPO / "inventories" / "local"), "--vars", str(guard_vars)],
        env=dict(os.environ, JAVA_HOME=binaries["java-home"], ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                 PD_CLUSTER_DIR=str(PATHS.root), ANSIBLE_FORCE_COLOR="0",
                 PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"),
        cwd=REPO)


def _listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _write_kwok_config():
    """kwok reads its stages as a stream of YAML documents; the repository keeps them as a list."""
    import yaml  # comes with ansible-core in the project's venv

    config_path = PATHS.root / "kwok.yaml"
    stages = yaml.safe_load((HERE / "kwok-stages.yaml").read_text())
    config_path.write_text(yaml.safe_dump_all(stages, sort_keys=False))
    return config_path


# --- lifecycle -------------------------------------------------------------------------------

def running_components():
    return [c for c in COMPONENTS if _read_pid(c) is not None]


def cluster_info():
    return {
        "kubeconfig": str(PATHS.kubeconfig),
        "context": KUBE_CONTEXT,
        "api_server": apiserver_url(),
        "prometheus_url": f"http://127.0.0.1:{PORTS['prometheus']}",
        "simulator_url": f"http://127.0.0.1:{PORTS['traffic-simulator']}",
        "alertmanager_url": f"http://127.0.0.1:{PORTS['alertmanager']}",
        "kubernetes_version": KUBE_VERSION,
        "nodes": [f"kwok-node-{i}" for i in range(NODE_COUNT)],
    }


def _healthy():
    try:
        return (running_components() == COMPONENTS and apiserver_ready())
    except (OSError, urllib.error.URLError, ssl.SSLError):
        return False


def up():
    if _healthy():
        log(f"already running; kubeconfig {PATHS.kubeconfig}")
        return
    if running_components():
        log("found a partly running cluster; stopping it first")
        down(quiet=True)
    taken = [f"{port} ({name})" for name, port in PORTS.items() if not _port_free(port)]
    if taken:
        raise ClusterError("port(s) already in use on 127.0.0.1: " + ", ".join(taken) +
                           "; stop what uses them or choose others with PD_*_PORT variables")
    binaries = resolve_binaries()
    started = time.monotonic()
    shutil.rmtree(PATHS.root, ignore_errors=True)
    PATHS.root.mkdir(parents=True)
    try:
        _start_all(binaries)
    except BaseException:
        down(quiet=True)
        raise
    PATHS.info.write_text(json.dumps(cluster_info(), indent=2))
    log(f"ready in {time.monotonic() - started:.1f}s: {NODE_COUNT} nodes, API server "
        f"{apiserver_url()}, Prometheus {cluster_info()['prometheus_url']}")
    log(f"kubeconfig: {PATHS.kubeconfig}")


def apiserver_argv(binary, port):
    """The kube-apiserver command line serving on 127.0.0.1:port, over the cluster's etcd with its
    certificates and service-account keys: the cluster's own API server, or another instance
    beside it that clients and tokens cannot tell apart (the serving certificate names 127.0.0.1)."""
    pki_dir = PATHS.pki
    return [
        binary,
        f"--etcd-servers=http://127.0.0.1:{PORTS['etcd']}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={pki_dir / 'apiserver.crt'}",
        f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
        f"--client-ca-file={pki_dir / 'ca.crt'}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-key-file={pki_dir / 'sa.pub'}",
        f"--service-account-signing-key-file={pki_dir / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--cert-dir={pki_dir}",
        "--enable-priority-and-fairness=false", "--profiling=false", "--v=1"]


def _start_all(binaries):
    guarded = "alertmanager" in COMPONENTS
    if guarded:
        _start_guard(binaries)
    pki.generate(PATHS.pki, SERVICE_IP)
    pki_dir = PATHS.pki
    _write_kubeconfig()
    kubeconfig = str(PATHS.kubeconfig)

    _start("etcd", [
        binaries["etcd"], "--name=local", f"--data-dir={PATHS.root / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{PORTS['etcd']}",
        f"--advertise-client-urls=http://127.0.0.1:{PORTS['etcd']}",
        f"--listen-peer-urls=http://127.0.0.1:{PORTS['etcd-peer']}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{PORTS['etcd-peer']}",
        f"--initial-cluster=local=http://127.0.0.1:{PORTS['etcd-peer']}",
        "--unsafe-no-fsync", "--quota-backend-bytes=4294967296", "--log-level=warn"])
    _wait("etcd", lambda: _get(f"http://127.0.0.1:{PORTS['etcd']}/health")[0] == 200, 30)

    _start("kube-apiserver", apiserver_argv(binaries["kube-apiserver"], PORTS["kube-apiserver"]))
    _wait("kube-apiserver", apiserver_ready, 120)

    _start("kube-controller-manager", [
        binaries["kube-controller-manager"], f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false", "--bind-address=127.0.0.1",
        f"--secure-port={PORTS['kube-controller-manager']}",
        f"--service-account-private-key-file={pki_dir / 'sa.key'}",
        f"--root-ca-file={pki_dir / 'ca.crt'}", "--use-service-account-credentials=true",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--cert-dir={PATHS.root / 'kcm-certs'}", "--v=1"])
    _start("kube-scheduler", [
        binaries["kube-scheduler"], f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false", "--bind-address=127.0.0.1",
        f"--secure-port={PORTS['kube-scheduler']}", f"--cert-dir={PATHS.root / 'scheduler-certs'}",
        "--v=1"])
    _start("kwok", [
        binaries["kwok"], f"--kubeconfig={kubeconfig}", f"--config={_write_kwok_config()}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--server-address=127.0.0.1:{PORTS['kwok']}", "--node-lease-duration-seconds=40",
        f"--cidr={POD_CIDR}", "--node-ip=127.0.0.1"])
    _wait("kube-controller-manager",
          lambda: _healthy_https(f"https://127.0.0.1:{PORTS['kube-controller-manager']}/healthz"), 60)
    _wait("kube-scheduler",
          lambda: _healthy_https(f"https://127.0.0.1:{PORTS['kube-scheduler']}/healthz"), 60)
    _wait("kwok", lambda: _get(f"http://127.0.0.1:{PORTS['kwok']}/healthz")[0] == 200, 60)

    import bootstrap_objects  # needs the kubernetes client, present only in the project's venv
    bootstrap_objects.create(kubeconfig, NODE_COUNT, _crd_dir())

    _start("prometheus", [
        binaries["prometheus"], f"--config.file={_write_prometheus_config()}",
        f"--storage.tsdb.path={PATHS.root / 'prometheus'}",
        f"--web.listen-address=127.0.0.1:{PORTS['prometheus']}",
        "--web.enable-remote-write-receiver", "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=1d", "--log.level=warn"])
    _wait("prometheus",
          lambda: _get(f"http://127.0.0.1:{PORTS['prometheus']}/-/ready")[0] == 200, 60)

    _start("traffic-simulator", [
        sys.executable, str(HERE / "traffic_simulator.py"), f"--kubeconfig={kubeconfig}",
        f"--listen=127.0.0.1:{PORTS['traffic-simulator']}"])
    _start("prometheus-rules", [
        sys.executable, str(HERE / "prometheus_rules.py"), f"--kubeconfig={kubeconfig}",
        f"--rules-dir={PATHS.root / 'rules'}", f"--prometheus-url=http://127.0.0.1:{PORTS['prometheus']}"])
    _wait("traffic-simulator",
          lambda: _get(f"http://127.0.0.1:{PORTS['traffic-simulator']}/metrics")[0] == 200, 60)
    if guarded:
        _wait("alertmanager", lambda: _get(f"http://127.0.0.1:{PORTS['alertmanager']}/-/ready")[0] == 200, 60)
        _wait("ansible-rulebook", lambda: _listening(PORTS["ansible-rulebook"]), 120)


def down(quiet=False):
    stopped = [c for c in reversed(COMPONENTS) if _stop(c)]
    shutil.rmtree(PATHS.root, ignore_errors=True)
    if not quiet:
        log(f"stopped {', '.join(stopped) if stopped else 'nothing (was not running)'}; "
            f"removed {PATHS.root}")


def status():
    running = running_components()
    for component in COMPONENTS:
        state = "running" if component in running else "stopped"
        print(f"{component:<25} {state:<8} port {PORTS.get(component, '-')}")
    if _healthy():
        print(json.dumps(cluster_info(), indent=2))
        return 0
    return 1


def env():
    info = cluster_info()
    print(f"export KUBECONFIG={info['kubeconfig']}")
    print(f"export K8S_AUTH_KUBECONFIG={info['kubeconfig']}")
    print(f"export PD_PROMETHEUS_URL={info['prometheus_url']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--index", default=os.environ.get("PD_CLUSTER_INDEX"),
                        help=f"another cluster beside the default one (0), 1 to {MAX_INDEX} (default: "
                             f"PD_CLUSTER_INDEX, else 0)")
    arguments = parser.parse_args(argv)
    command = arguments.command
    try:
        configure(_index(arguments.index))
        result = {"up": up, "down": down, "status": status, "env": env}[command]()
    except ClusterError as error:
        print(f"local-cluster: error: {error}", file=sys.stderr)
        return 1
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
