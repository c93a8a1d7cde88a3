"""The collection as users get it: the Galaxy tarball, installed into a fresh collections path and run
by fully qualified names, and the execution environment's build context that ansible-builder makes."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from conftest import REPO

BIN = Path(sys.executable).parent
VENV_COLLECTIONS = Path(yaml.__file__).parents[1]  # site-packages, which holds ansible_collections/
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
NOT_SHIPPED = (".cache", ".venv", ".ci", ".git", ".pytest_cache", "benchmarks", "inventories", "tests", "tools",
               "dist", "context", "Makefile", "ansible.cfg", "pytest.ini", "requirements-dev.txt",
               "execution-environment.yml", "requirements.yml", "extensions/molecule")


def run(command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert completed.returncode == 0, f"{command} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    output = tmp_path_factory.mktemp("dist")
    run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(output), str(REPO)])
    return output / TARBALL


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """A fresh collections path holding only the installed tarball, and an environment that sees it and the
    venv's collections (kubernetes.core), never the checkout."""
    root = tmp_path_factory.mktemp("installed")
    (root / "ansible.cfg").write_text("[defaults]\ninterpreter_python = auto_silent\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=f"{root / 'collections'}:{VENV_COLLECTIONS}")
    run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "--no-deps",
         "-p", str(root / "collections")], env=env, cwd=root)
    return root, env


def test_the_tarball_ships_the_collection_and_nothing_else(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    top = {name.split("/")[0] for name in names} | {"/".join(name.split("/")[:2]) for name in names}
    assert not top & set(NOT_SHIPPED), top & set(NOT_SHIPPED)
    assert not [name for name in top if name.startswith(".")], "hidden directories (caches) are shipped"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    for shipped in ("MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml",
                    "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
                    "plugins/modules/rollout_status.py", "plugins/module_utils/kube_module.py",
                    "roles/blue_green/tasks/main.yml", "playbooks/blue_green.yml", "playbooks/vars/blue_green.yml",
                    "changelogs/changelog.yaml", "extensions/eda/rulebooks/guard.yml", "playbooks/guard.yml"):
        assert shipped in names, shipped
    manifest = json.load(tarfile.open(tarball).extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["dependencies"] == GALAXY["dependencies"]


def test_the_installed_collection_runs_by_fully_qualified_names(installed, cluster, namespace, api_client):
    root, env = installed
    listed = run([str(BIN / "ansible-galaxy"), "collection", "list", "terragonlabs.progressive_delivery",
                  "--format", "json"], env=env, cwd=root)
    assert list(json.loads(listed.stdout)) == [str(root / "collections" / "ansible_collections")]

    inventory = root / f"{namespace}.yml"
    inventory.write_text(yaml.safe_dump({"applications": {"hosts": {"modelcard-generator": None}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "pd_kubeconfig": cluster["kubeconfig"], "pd_context": "progressive-delivery-local",
        "pd_namespace": namespace}}}))
    record = root / "record.yml"
    record.write_text(yaml.safe_dump([{
        "name": "Record a release through the installed module", "hosts": "applications", "gather_facts": False,
        "tasks": [{"name": "Record the release", "terragonlabs.progressive_delivery.release_record": {
            "kubeconfig": "{{ pd_kubeconfig }}", "context": "{{ pd_context }}", "app": "{{ inventory_hostname }}",
            "namespace": "{{ pd_namespace }}", "release_id": "packaged-1", "strategy": "blue_green",
            "version": "1.0.0", "phase": "promoted", "step": "done"}}]}]))
    run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(record)], env=env, cwd=root)

    status = run([str(BIN / "ansible-playbook"), "-i", str(inventory), "terragonlabs.progressive_delivery.status"],
                 env=env, cwd=root)
    assert "release: packaged-1" in status.stdout
    assert "phase: promoted, step: done" in status.stdout
    assert client.CoreV1Api(api_client).read_namespaced_config_map("modelcard-generator-release", namespace)


def test_ansible_builder_creates_the_execution_environment_context(tarball, tmp_path):
    for name in ("execution-environment.yml", "requirements.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "dist").mkdir()
    shutil.copy(tarball, tmp_path / "dist" / TARBALL)
    context = tmp_path / "context"
    run([str(BIN / "ansible-builder"), "create", "-f", str(tmp_path / "execution-environment.yml"),
         "-c", str(context), "--output-filename", "Containerfile"], cwd=tmp_path)

    build = context / "_build"
    for name in ("requirements.yml", "requirements.txt", "bindep.txt"):
        assert (build / name).read_text() == (REPO / name).read_text(), name
    galaxy_requirements = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    # The galaxy stage runs in /build, a copy of _build: the tarball must be where requirements.yml says.
    assert (build / galaxy_requirements[0]["name"]).is_file()
    assert {entry["name"] for entry in galaxy_requirements[1:]} == set(GALAXY["dependencies"])

    containerfile = (context / "Containerfile").read_text()
    for expected in ('EE_BASE_IMAGE="quay.io/centos/centos:stream9"', 'PYPKG="python3.11"',
                     'ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"', "COPY _build /build",
                     "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml",
                     "introspect --user-pip=requirements.txt --user-bindep=bindep.txt", "install-from-bindep"):
        assert expected in containerfile, expected


def test_the_execution_environment_installs_the_collection_from_its_context(tarball, tmp_path):
    """The galaxy stage's command, run on the context's own requirements.yml (offline: kubernetes.core is
    taken as the one already installed in the venv)."""
    shutil.copy(REPO / "requirements.yml", tmp_path / "requirements.yml")
    (tmp_path / "collections").mkdir()
    shutil.copy(tarball, tmp_path / "collections" / TARBALL)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{tmp_path / 'installed'}:{VENV_COLLECTIONS}"
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
         "-p", str(tmp_path / "installed")], env=env, cwd=tmp_path)
    manifest = tmp_path / "installed" / "ansible_collections" / "terragonlabs" / "progressive_delivery" / "MANIFEST.json"
    assert json.loads(manifest.read_text())["collection_info"]["version"] == GALAXY["version"]
