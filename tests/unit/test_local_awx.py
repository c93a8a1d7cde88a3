"""The local AWX's decisions (tools/local_awx/local_awx.py): what it writes for AWX, receptor, podman
and PostgreSQL, and when its cached database fits."""

import ast
import base64
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "local_awx"))

import local_awx  # noqa: E402


def settings_values(text):
    """The settings file's NAME = literal assignments, evaluated (LOGGING is AWX's own, not ours)."""
    values = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_template_key_changes_with_what_the_database_stores():
    base = ("24.6.1", "awx-local", "localhost/ee:latest", "key")
    key = local_awx.template_key(*base)
    assert key.startswith("db-24.6.1-") and "key" not in key
    assert key == local_awx.template_key(*base)
    for position, other in enumerate(("24.6.2", "other", "localhost/ee:1", "another key")):
        changed = list(base)
        changed[position] = other
        assert local_awx.template_key(*changed) != key, other
    assert key != local_awx.template_key(*base, layout=99)


def test_projects_live_where_awx_lists_their_playbooks(tmp_path):
    plain = tmp_path / "state"
    assert local_awx.projects_root(plain) == plain / "projects"
    hidden = Path("/home/user/.local/state/progressive-delivery/awx")
    root = local_awx.projects_root(hidden)
    assert not any(part.startswith(".") for part in root.parts)
    assert root == local_awx.projects_root(hidden) != local_awx.projects_root(hidden / "other")


def test_receptor_runs_ansible_runner_worker_with_no_network_listener(tmp_path):
    config = local_awx.receptor_config("awx-local", tmp_path / "receptor.sock", tmp_path / "data")
    kinds = {next(iter(entry)) for entry in config}
    assert kinds == {"node", "log-level", "local-only", "control-service", "work-command"}
    assert not any("listener" in kind or "peer" in kind for kind in kinds)
    work = next(entry["work-command"] for entry in config if "work-command" in entry)
    assert (work["worktype"], work["command"], work["params"]) == ("local", "ansible-runner", "worker")
    control = next(entry["control-service"] for entry in config if "control-service" in entry)
    assert control["filename"] == str(tmp_path / "receptor.sock")
    # AWX reads it back with yaml to find the control socket.
    assert yaml.safe_load(yaml.safe_dump(config)) == config


def test_podman_uses_runc_the_hosts_network_and_the_cache_for_images(tmp_path):
    containers = local_awx.containers_conf(tmp_path / "tmp")
    assert 'runtime = "runc"' in containers and 'netns = "host"' in containers
    assert "nofile=20000:20000" in containers
    assert f'tmp_dir = "{tmp_path / "tmp"}"' in containers
    storage = local_awx.storage_conf(tmp_path / "images", tmp_path / "run")
    assert f'graphroot = "{tmp_path / "images"}"' in storage and f'runroot = "{tmp_path / "run"}"' in storage


def test_podman_run_state_has_a_short_path_of_its_own_per_image_store():
    deep = Path("/home/someone-with-a-long-name/.cache/progressive-delivery/awx/containers/storage")
    run_dir = local_awx.podman_run_dir(deep)
    # podman container cleanup refuses a longer run root, and podman run then waits 20 s for it.
    assert len(str(run_dir / "run")) <= 50
    assert run_dir == local_awx.podman_run_dir(deep) != local_awx.podman_run_dir(deep / "other")


def test_settings_keep_everything_on_loopback_and_under_the_state_directory(tmp_path):
    paths = local_awx.Paths(tmp_path)
    text = local_awx.awx_settings(paths, "s3cret", {"web": 28052, "postgres": 25432}, "localhost/ee:latest")
    compile(text, "settings.py", "exec")
    values = settings_values(text)
    database = values["DATABASES"]["default"]
    assert (database["HOST"], database["PORT"]) == ("127.0.0.1", "25432")
    assert values["BROKER_URL"] == f"unix://{paths.redis_socket}"
    for name in ("JOBOUTPUT_ROOT", "AWX_ISOLATION_BASE_PATH", "LOG_ROOT"):
        assert values[name].startswith(str(tmp_path)), name
    assert values["AWX_ISOLATION_SHOW_PATHS"] == [str(paths.git)]
    assert values["CONTROL_PLANE_EXECUTION_ENVIRONMENT"] == "localhost/ee:latest"
    assert values["GLOBAL_JOB_EXECUTION_ENVIRONMENTS"][0]["image"] == "localhost/ee:latest"
    assert values["DEFAULT_CONTAINER_RUN_OPTIONS"] == ["--network", "host"]
    assert values["SECRET_KEY"] == "s3cret"


def test_postgres_runs_as_an_ordinary_user_in_a_user_namespace_only_as_root():
    argv = ["/usr/lib/postgresql/15/bin/postgres", "-D", "data"]
    assert local_awx.as_postgres_argv(argv, euid=1000) == argv
    wrapped = local_awx.as_postgres_argv(argv, euid=0)
    assert wrapped[0] == "unshare" and "--user" in wrapped and wrapped[-3:] == argv


def test_inline_kubeconfig_carries_the_certificates_themselves(tmp_path):
    for name, content in (("ca.crt", b"CA"), ("admin.crt", b"CERT"), ("admin.key", b"KEY")):
        (tmp_path / name).write_bytes(content)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:26443",
                                               "certificate-authority": str(tmp_path / "ca.crt")}}],
        "users": [{"name": "u", "user": {"client-certificate": str(tmp_path / "admin.crt"),
                                         "client-key": str(tmp_path / "admin.key")}}]}))
    inline = yaml.safe_load(local_awx.inline_kubeconfig(kubeconfig))
    cluster = inline["clusters"][0]["cluster"]
    user = inline["users"][0]["user"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"CA"
    assert base64.b64decode(user["client-certificate-data"]) == b"CERT"
    assert base64.b64decode(user["client-key-data"]) == b"KEY"
    assert "certificate-authority" not in cluster and "client-key" not in user
