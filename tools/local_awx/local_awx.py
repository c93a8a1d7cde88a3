"""A real AWX on loopback, that runs its jobs in podman, for the collection's AWX tests and demos.

    local_awx.py up       install once (cached), then start everything (harmless when running)
    local_awx.py down     stop what `up` started (by PID) and remove its data
    local_awx.py status   print what runs and where
    local_awx.py env      print shell exports for the awx.awx modules (CONTROLLER_HOST, ...)

AWX 24.6.1 with its own PostgreSQL and Redis, receptor, the dispatcher, the callback receiver
and the web service (uWSGI), all on 127.0.0.1 or unix sockets under the state directory
(PD_AWX_DIR, default ~/.local/state/progressive-delivery/awx). install.sh installs AWX, receptor
and the Debian packages; build-ee.sh builds the execution environment from the collection's own
definition. The migrated database is cached as a template data directory, so a warm start copies
it instead of migrating (about 4 minutes).
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import processes  # noqa: E402  (tools/processes.py, shared with tools/local_cluster)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE_DIR = Path(os.environ.get("PD_CACHE_DIR") or
                 Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "progressive-delivery")
AWX_CACHE = CACHE_DIR / "awx"
STATE_DIR = Path(os.environ.get("PD_AWX_DIR") or
                 Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state")
                 / "progressive-delivery/awx")
AWX_VERSION = os.environ.get("PD_AWX_VERSION", "24.6.1")
RECEPTOR_VERSION = os.environ.get("PD_RECEPTOR_VERSION", "1.4.9")
POSTGRES_BIN = Path(os.environ.get("PD_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
# The instance's name in AWX: fixed, so the cached template database fits every start.
NODE_ID = "awx-local"
EE_IMAGE = os.environ.get("PD_AWX_EE_IMAGE", "localhost/progressive-delivery-ee:latest")

PORTS = {
    "web": int(os.environ.get("PD_AWX_PORT", "28052")),
    "postgres": int(os.environ.get("PD_AWX_POSTGRES_PORT", "25432")),
}
# Start order; `down` stops them in reverse. "namespace" holds the mount namespace in which AWX
# sees /etc/receptor/receptor.conf (a path AWX hard-codes) without the machine's /etc changing.
COMPONENTS = ["postgres", "redis", "receptor", "namespace", "dispatcher", "callback-receiver", "web"]
AWX_SERVICES = {
    "dispatcher": ["run_dispatcher"],
    "callback-receiver": ["run_callback_receiver"],
}
# What a cached template database depends on: change any of these and it is made again.
TEMPLATE_LAYOUT = 2


class AwxError(Exception):
    """A failure to report plainly, without a traceback."""


def log(message):
    print(f"local-awx: {message}", flush=True)


# --- pure decisions --------------------------------------------------------------------------

def template_key(awx_version, node_id, ee_image, secret_key, layout=TEMPLATE_LAYOUT):
    """Names the cached migrated database by what it stores that a start could change (its secrets
    are encrypted with the secret key)."""
    digest = hashlib.sha256(json.dumps([awx_version, node_id, ee_image, secret_key, layout]).encode()).hexdigest()
    return f"db-{awx_version}-{digest[:12]}"


def projects_root(state_dir):
    """Where AWX keeps project checkouts. AWX lists a project's playbooks skipping every directory
    whose absolute path has a component starting with a dot, so a state directory under ~/.local
    would show none: then a directory of its own under /var/tmp, named after the state directory."""
    if not any(part.startswith(".") for part in Path(state_dir).parts):
        return Path(state_dir) / "projects"
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"progressive-delivery-awx-{digest}" / "projects"


def receptor_config(node_id, control_socket, data_dir):
    """receptor's configuration: one node, no network listener, AWX's `local` work type running
    `ansible-runner worker` (which starts the job's container)."""
    return [
        {"node": {"id": node_id, "datadir": str(data_dir)}},
        {"log-level": "info"},
        # Without it receptor exits: it has no network backend, as it talks to no other node.
        {"local-only": {}},
        {"control-service": {"service": "control", "filename": str(control_socket)}},
        {"work-command": {"worktype": "local", "command": "ansible-runner", "params": "worker",
                          "allowruntimeparams": True}},
    ]


def containers_conf(tmp_dir):
    """podman's settings for jobs. runc, because crun cannot set cgroups up in hybrid mode; the
    host's network, so jobs reach the local cluster and Prometheus on 127.0.0.1 (AWX's own
    development environment runs its jobs the same way); limits a container cannot raise."""
    return "\n".join([
        "[containers]",
        'netns = "host"',
        'log_driver = "k8s-file"',
        'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]',
        "[engine]",
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        f'tmp_dir = "{tmp_dir}"',
        "",
    ])


def podman_run_dir(graph_root):
    """Where podman keeps containers' run state and temporary files: one short path per image store.
    `podman container cleanup`, which marks a finished container as exited, refuses a run root
    longer than 50 characters, and then every `podman run` waits 20 s for it before returning; and
    podman's database, beside the images, records both paths, so they must not change per start."""
    digest = hashlib.sha256(str(graph_root).encode()).hexdigest()[:12]
    return Path("/tmp") / f"pd-podman-{digest}"


def storage_conf(graph_root, run_root):
    """Images live in the cache (the execution environment is built once)."""
    return "\n".join([
        "[storage]",
        'driver = "overlay"',
        f'graphroot = "{graph_root}"',
        f'runroot = "{run_root}"',
        "",
    ])


def awx_settings(paths, secret_key, ports, ee_image):
    """AWX's settings file (AWX_SETTINGS_FILE), read after its production defaults."""
    settings = {
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "CLUSTER_HOST_ID": NODE_ID,
        "SYSTEM_UUID": "00000000-0000-0000-0000-000000000000",
        "DATABASES": {"default": {
            "ATOMIC_REQUESTS": True, "ENGINE": "awx.main.db.profiled_pg", "NAME": "awx",
            "USER": "awx", "PASSWORD": "", "HOST": "127.0.0.1", "PORT": str(ports["postgres"])}},
        "BROKER_URL": f"unix://{paths.redis_socket}",
        "CACHES": {"default": {"BACKEND": "awx.main.cache.AWXRedisCache",
                               "LOCATION": f"unix://{paths.redis_socket}?db=1"}},
        "CHANNEL_LAYERS": {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                       "CONFIG": {"hosts": [f"unix://{paths.redis_socket}"],
                                                  "capacity": 10000, "group_expiry": 157784760}}},
        "PROJECTS_ROOT": str(paths.projects),
        "JOBOUTPUT_ROOT": str(paths.root / "job_status"),
        "AWX_ISOLATION_BASE_PATH": str(paths.root / "isolation"),
        "LOG_ROOT": str(paths.logs),
        "STATIC_ROOT": str(paths.root / "static"),
        # The production default mounts RHEL-only /etc/pki paths into every job; project updates
        # clone the published project (publish_project) from the state directory.
        "AWX_ISOLATION_SHOW_PATHS": [str(paths.git)],
        "GLOBAL_JOB_EXECUTION_ENVIRONMENTS": [{"name": "progressive-delivery EE", "image": ee_image}],
        "CONTROL_PLANE_EXECUTION_ENVIRONMENT": ee_image,
        "DEFAULT_CONTAINER_RUN_OPTIONS": ["--network", "host"],
        # No Galaxy or Automation Hub here: collections are in the execution environment.
        "AWX_ROLES_ENABLED": False,
        "AWX_COLLECTIONS_ENABLED": False,
        "BROADCAST_WEBSOCKET_PORT": ports["web"],
        "BROADCAST_WEBSOCKET_PROTOCOL": "http",
        "BROADCAST_WEBSOCKET_VERIFY_CERT": False,
        "INSIGHTS_TRACKING_STATE": False,
        "AUTOMATION_ANALYTICS_GATHER_INTERVAL": 0,
    }
    lines = ["# Written by tools/local_awx/local_awx.py"]
    lines += [f"{name} = {value!r}" for name, value in settings.items()]
    # Logs go to files under the state directory rather than /var/log/tower.
    lines += ["for _handler in LOGGING['handlers'].values():",
              "    if 'filename' in _handler:",
              "        _handler['filename'] = _handler['filename'].replace('/var/log/tower', LOG_ROOT)",
              ""]
    return "\n".join(lines)


def inline_kubeconfig(kubeconfig):
    """The kubeconfig with its certificate files inlined, as an AWX credential must carry it: a job's
    container sees only what the credential injects."""
    import yaml  # JSON is YAML too; local_cluster.py writes JSON

    config = yaml.safe_load(Path(kubeconfig).read_text())
    for entry in config.get("clusters", []):
        cluster = entry["cluster"]
        if "certificate-authority" in cluster:
            path = cluster.pop("certificate-authority")
            cluster["certificate-authority-data"] = base64.b64encode(Path(path).read_bytes()).decode()
    for entry in config.get("users", []):
        user = entry["user"]
        for key in ("client-certificate", "client-key"):
            if key in user:
                user[key + "-data"] = base64.b64encode(Path(user.pop(key)).read_bytes()).decode()
    return json.dumps(config, indent=2)


# --- paths and processes ---------------------------------------------------------------------

@dataclass
class Paths:
    root: Path

    def pid(self, component):
        return self.root / "run" / f"{component}.pid"

    def log(self, component):
        return self.logs / f"{component}.log"

    @property
    def logs(self):
        return self.root / "logs"

    @property
    def pgdata(self):
        return self.root / "pgdata"

    @property
    def redis_socket(self):
        return self.root / "run" / "redis.sock"

    @property
    def receptor_socket(self):
        return self.root / "run" / "receptor.sock"

    @property
    def projects(self):
        return projects_root(self.root)

    @property
    def git(self):
        return self.root / "git"

    @property
    def settings(self):
        return self.root / "settings.py"

    @property
    def etc_upper(self):
        return self.root / "etc-overlay" / "upper"

    @property
    def info(self):
        return self.root / "awx.json"


PATHS = Paths(STATE_DIR)


def _read_pid(component):
    return processes.read_pid(PATHS, component)


def _start(component, argv, env=None):
    return processes.start(PATHS, component, argv, env=env)


def _stop(component, grace=15.0):
    return processes.stop(PATHS, component, grace)


def _log_tail(component, lines=30):
    return processes.log_tail(PATHS, component, lines)


def _wait(component, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _read_pid(component) is None:
            raise AwxError(f"{component} exited during start-up; its log ends with:\n{_log_tail(component)}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, subprocess.SubprocessError):
            pass
        time.sleep(0.5)
    raise AwxError(f"{component} did not become ready within {timeout:.0f}s; log "
                   f"{PATHS.log(component)} ends with:\n{_log_tail(component)}")


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- installation ----------------------------------------------------------------------------

def venv():
    return AWX_CACHE / f"venv-{AWX_VERSION}"


def receptor_binary():
    return AWX_CACHE / "bin" / f"receptor-{RECEPTOR_VERSION}" / "receptor"


def install():
    """Installs AWX, receptor and the Debian packages, each only once."""
    if not ((venv() / ".complete").exists() and receptor_binary().exists() and shutil.which("podman")
            and (POSTGRES_BIN / "postgres").exists() and shutil.which("redis-server")):
        if subprocess.run(["bash", str(HERE / "install.sh")], check=False).returncode != 0:
            raise AwxError("installing AWX failed (see the output above); nothing was started")


def build_execution_environment():
    """The image jobs run in, from the collection as it is now (a few seconds when nothing changed)."""
    if subprocess.run(["bash", str(HERE / "build-ee.sh")], check=False, env=podman_env()).returncode != 0:
        raise AwxError("building the execution environment failed (see the output above)")


def podman_env(base=None):
    """The environment podman needs to find this AWX's settings and image store."""
    conf_dir = AWX_CACHE / "containers"
    conf_dir.mkdir(parents=True, exist_ok=True)
    graph_root = conf_dir / "storage"
    run_dir = podman_run_dir(graph_root)
    storage = storage_conf(graph_root, run_dir / "run")
    if (conf_dir / "storage.conf").exists() and (conf_dir / "storage.conf").read_text() != storage:
        # The database holds no image, only containers, and records the old paths: podman would
        # refuse to run with the new ones.
        (graph_root / "libpod" / "bolt_state.db").unlink(missing_ok=True)
    (conf_dir / "containers.conf").write_text(containers_conf(run_dir / "tmp"))
    (conf_dir / "storage.conf").write_text(storage)
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    return dict(base or os.environ, CONTAINERS_CONF=str(conf_dir / "containers.conf"),
                CONTAINERS_STORAGE_CONF=str(conf_dir / "storage.conf"))


# --- lifecycle -------------------------------------------------------------------------------

def _credentials_file():
    return AWX_CACHE / "credentials.json"


def credentials():
    """The admin password and Django secret key, made once: the template database is encrypted
    with that key and has that password."""
    path = _credentials_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"username": "admin", "password": secrets.token_urlsafe(18),
                                    "secret_key": secrets.token_urlsafe(48)}))
        path.chmod(0o600)
    return json.loads(path.read_text())


def as_postgres_argv(argv, euid):
    """PostgreSQL refuses to run as root: as root, run it in a user namespace where root appears as
    an ordinary user, so its files stay root's outside and nothing needs chown."""
    if euid != 0:
        return list(argv)
    return ["unshare", "--user", "--map-user=1000", "--map-group=1000", "--", *argv]


def _pg(argv):
    return as_postgres_argv(argv, os.geteuid())


def _postgres_socket_dir():
    return PATHS.root / "run" / "postgres"


def _start_postgres():
    _postgres_socket_dir().mkdir(parents=True, exist_ok=True)
    _start("postgres", _pg([str(POSTGRES_BIN / "postgres"), "-D", str(PATHS.pgdata), "-p", str(PORTS["postgres"]),
                            "-h", "127.0.0.1", "-k", str(_postgres_socket_dir()), "-c", "fsync=off",
                            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                            "-c", "max_connections=200", "-c", "shared_buffers=128MB"]))
    _wait("postgres", _postgres_ready, 60)


def _postgres_ready():
    result = subprocess.run([str(POSTGRES_BIN / "pg_isready"), "-h", str(_postgres_socket_dir()),
                             "-p", str(PORTS["postgres"])], capture_output=True, check=False)
    return result.returncode == 0


def _psql(sql, database="postgres"):
    subprocess.run([str(POSTGRES_BIN / "psql"), "-h", str(_postgres_socket_dir()), "-p", str(PORTS["postgres"]),
                    "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                   check=True, capture_output=True)


def _init_database():
    """A fresh cluster with the awx database and role (trust on loopback: nothing else listens there
    for it, and the port is the state directory's own)."""
    PATHS.pgdata.mkdir(parents=True, mode=0o700)
    subprocess.run(_pg([str(POSTGRES_BIN / "initdb"), "-D", str(PATHS.pgdata), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
    _start_postgres()
    _psql("CREATE ROLE awx LOGIN SUPERUSER")
    _psql("CREATE DATABASE awx OWNER awx")


def awx_env():
    return dict(os.environ, AWX_SETTINGS_FILE=str(PATHS.settings), AWX_SETTINGS_DIR=str(PATHS.root / "conf.d"),
                PATH=f"{venv() / 'bin'}:{receptor_binary().parent}:{os.environ['PATH']}",
                SKIP_PG_VERSION_CHECK="1", HOME=str(PATHS.root / "home"))


def awx_manage(*args, check=True):
    """awx-manage inside the namespace that shows AWX its receptor.conf."""
    argv = _in_namespace([str(venv() / "bin" / "awx-manage"), *args])
    result = subprocess.run(argv, env=awx_env(), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AwxError(f"awx-manage {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _in_namespace(argv):
    pid = _read_pid("namespace")
    if pid is None:
        raise AwxError("the namespace holder is not running")
    return ["nsenter", f"--mount=/proc/{pid}/ns/mnt", "--", *argv]


def _provision(creds):
    """What a new AWX needs before it runs jobs: the schema, an admin, the instance and its groups."""
    log("migrating AWX's database (first time only, about 4 minutes)")
    awx_manage("migrate", "--noinput")
    awx_manage("shell", "-c", (
        "from django.contrib.auth.models import User\n"
        f"User.objects.filter(username={creds['username']!r}).exists() or "
        f"User.objects.create_superuser({creds['username']!r}, 'admin@localhost', {creds['password']!r})"))
    # The organization every AWX install starts with, which configure.yml defaults to.
    awx_manage("shell", "-c", "from awx.main.models import Organization\n"
                              "Organization.objects.get_or_create(name='Default')")
    awx_manage("register_default_execution_environments")
    awx_manage("provision_instance", f"--hostname={NODE_ID}", "--node_type=hybrid")
    awx_manage("register_queue", "--queuename=controlplane", f"--hostnames={NODE_ID}")
    awx_manage("register_queue", "--queuename=default", f"--hostnames={NODE_ID}")


def _write_configuration(creds):
    for directory in ("git", "run", "logs", "job_status", "isolation", "static",
                      "conf.d", "home", "receptor", "etc-overlay/upper/receptor", "etc-overlay/work"):
        (PATHS.root / directory).mkdir(parents=True, exist_ok=True)
    shutil.rmtree(PATHS.projects, ignore_errors=True)
    PATHS.projects.mkdir(parents=True)
    PATHS.settings.write_text(awx_settings(PATHS, creds["secret_key"], PORTS, EE_IMAGE))
    import yaml  # in the project's venv, and in AWX's

    (PATHS.etc_upper / "receptor" / "receptor.conf").write_text(yaml.safe_dump(
        receptor_config(NODE_ID, PATHS.receptor_socket, PATHS.root / "receptor")))


def _start_namespace():
    """A process whose mount namespace overlays the machine's /etc with receptor/receptor.conf;
    AWX's processes join it. The machine's /etc is not written."""
    script = ("mount -t overlay overlay "
              f"-o lowerdir=/etc,upperdir={PATHS.etc_upper},workdir={PATHS.root / 'etc-overlay/work'} /etc "
              "&& touch \"$0\" && exec sleep infinity")
    ready = PATHS.root / "run" / "namespace.ready"
    ready.unlink(missing_ok=True)
    _start("namespace", ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(ready)])
    _wait("namespace", ready.exists, 10)


def _start_redis():
    _start("redis", ["redis-server", "--port", "0", "--unixsocket", str(PATHS.redis_socket),
                     "--unixsocketperm", "700", "--dir", str(PATHS.root / "run"), "--save", "",
                     "--appendonly", "no"])
    _wait("redis", PATHS.redis_socket.exists, 30)


def _start_receptor():
    _start("receptor", [str(receptor_binary()), "--config",
                        str(PATHS.etc_upper / "receptor" / "receptor.conf")], env=podman_env(awx_env()))
    _wait("receptor", PATHS.receptor_socket.exists, 30)


def _start_awx_services():
    env = awx_env()
    for component, args in AWX_SERVICES.items():
        _start(component, _in_namespace([str(venv() / "bin" / "awx-manage"), *args]), env=env)
    _start("web", _in_namespace([
        str(venv() / "bin" / "uwsgi"), "--http", f"127.0.0.1:{PORTS['web']}", "--http-keepalive",
        "--module", "awx.wsgi:application", "--master", "--processes", "3", "--die-on-term",
        "--vacuum", "--buffer-size", "32768", "--harakiri", "120", "--disable-logging",
        "--lazy-apps"]), env=env)
    _wait("web", _api_ready, 180)
    for component in AWX_SERVICES:
        if _read_pid(component) is None:
            raise AwxError(f"{component} exited; its log ends with:\n{_log_tail(component)}")


def url():
    return f"http://127.0.0.1:{PORTS['web']}"


def api(path, method="GET", body=None, timeout=30):
    """One request to AWX's API as the admin: (status, decoded JSON or None)."""
    creds = credentials()
    token = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
    request = urllib.request.Request(url() + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Basic {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload)
        except ValueError:
            return error.code, payload.decode(errors="replace")


def _api_ready():
    status, body = api("/api/v2/ping/", timeout=5)
    return status == 200 and any(i.get("node") == NODE_ID for i in body.get("instances", []))


def _instance_ready():
    status, body = api(f"/api/v2/instances/?hostname={NODE_ID}")
    return status == 200 and body["count"] == 1 and body["results"][0]["capacity"] > 0


def publish_project(source=REPO, name="progressive-delivery"):
    """Commits what git tracks in source (with uncommitted edits) to a repository under the state
    directory, which jobs' containers see at the same path, and returns its file:// URL: an AWX
    project of type git, as an operator's would be, without a Git server."""
    target = PATHS.git / name
    target.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=source, check=True,
                           capture_output=True).stdout
    for entry in target.iterdir():
        if entry.name != ".git":
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    subprocess.run(["rsync", "-a", "--from0", "--files-from=-", f"{source}/",
                    f"{target}/"], input=files, check=True)
    git = ["git", "-C", str(target), "-c", "user.name=local-awx", "-c", "user.email=local-awx@localhost"]
    if not (target / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "Published for the local AWX"], check=True)
    return f"file://{target}"


def running_components():
    return [c for c in COMPONENTS if _read_pid(c) is not None]


def info():
    creds = credentials()
    return {"url": url(), "username": creds["username"], "password": creds["password"],
            "version": AWX_VERSION, "execution_environment": EE_IMAGE, "projects_root": str(PATHS.projects),
            "state_dir": str(PATHS.root)}


def _healthy():
    try:
        return running_components() == COMPONENTS and _api_ready()
    except (OSError, urllib.error.URLError, ValueError):
        return False


def up():
    if _healthy():
        # A running AWX still runs the next jobs with the collection as it is now.
        build_execution_environment()
        log(f"already running at {url()}")
        return info()
    if running_components():
        log("found a partly running AWX; stopping it first")
        down(quiet=True)
    taken = [f"{port} ({name})" for name, port in PORTS.items() if not _port_free(port)]
    if taken:
        raise AwxError("port(s) already in use on 127.0.0.1: " + ", ".join(taken) +
                       "; stop what uses them or choose others with PD_AWX_*PORT variables")
    started = time.monotonic()
    install()
    build_execution_environment()
    creds = credentials()
    shutil.rmtree(PATHS.root, ignore_errors=True)
    PATHS.root.mkdir(parents=True)
    try:
        _write_configuration(creds)
        template = AWX_CACHE / template_key(AWX_VERSION, NODE_ID, EE_IMAGE, creds["secret_key"])
        _start_namespace()
        _start_redis()
        if (template / "PG_VERSION").exists():
            subprocess.run(["cp", "-a", str(template), str(PATHS.pgdata)], check=True)
            _start_postgres()
        else:
            _init_database()
            _provision(creds)
            _stop("postgres")
            tmp = template.with_name(template.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(["cp", "-a", str(PATHS.pgdata), str(tmp)], check=True)
            shutil.rmtree(template, ignore_errors=True)
            tmp.rename(template)
            _start_postgres()
        _start_receptor()
        _start_awx_services()
        _wait("dispatcher", _instance_ready, 120)
    except BaseException:
        down(quiet=True)
        raise
    PATHS.info.write_text(json.dumps(info(), indent=2))
    PATHS.info.chmod(0o600)
    log(f"ready in {time.monotonic() - started:.1f}s: {url()} (user {creds['username']}; "
        f"`local_awx.py env` prints the rest)")
    return info()


def down(quiet=False):
    stopped = [c for c in reversed(COMPONENTS) if _stop(c)]
    shutil.rmtree(PATHS.projects, ignore_errors=True)
    shutil.rmtree(PATHS.root, ignore_errors=True)
    if not quiet:
        log(f"stopped {', '.join(stopped) if stopped else 'nothing (was not running)'}; removed {PATHS.root}")


def _session_rss_kib(session_id):
    """The resident memory of every process in a session (a component and all it started)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session_id:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def memory_mib():
    """{component: resident MiB} of what runs, jobs' containers not included."""
    return {component: _session_rss_kib(pid) // 1024 for component in COMPONENTS
            if (pid := _read_pid(component)) is not None}


def status():
    running = running_components()
    memory = memory_mib()
    for component in COMPONENTS:
        state = f"running  {memory.get(component, 0):>5} MiB" if component in running else "stopped"
        print(f"{component:<20} {state}")
    print(f"{'total':<20} {'':<9}{sum(memory.values()):>5} MiB (jobs' containers not included)")
    if _healthy():
        details = info()
        details.pop("password")
        print(json.dumps(details, indent=2))
        return 0
    return 1


def env():
    details = info()
    print(f"export CONTROLLER_HOST={details['url']}")
    print(f"export CONTROLLER_USERNAME={details['username']}")
    print(f"export CONTROLLER_PASSWORD={details['password']}")
    print("export CONTROLLER_VERIFY_SSL=false")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    command = parser.parse_args(argv).command
    try:
        result = {"up": lambda: up() and 0, "down": down, "status": status, "env": env}[command]()
    except AwxError as error:
        print(f"local-awx: error: {error}", file=sys.stderr)
        return 1
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
