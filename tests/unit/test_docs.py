"""Every module, filter and role renders with ansible-doc, as users read it."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTION = "terragonlabs.progressive_delivery"
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
ROLES = sorted(path.parent.parent.name for path in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def ansible_doc(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), *args], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0 and "[WARNING]" not in completed.stderr, completed.stdout + completed.stderr
    return completed.stdout


def test_the_collection_lists_every_module():
    listed = json.loads(ansible_doc("--list", "--json", COLLECTION))
    assert sorted(name.rsplit(".", 1)[1] for name in listed) == MODULES


def test_every_module_renders_with_its_options_examples_and_return_values():
    names = ["%s.%s" % (COLLECTION, module) for module in MODULES]
    docs = json.loads(ansible_doc("--json", *names))
    for name in names:
        entry = docs[name]
        assert entry["doc"]["short_description"] and entry["doc"]["options"], name
        assert entry["doc"]["version_added"] == "0.1.0", name
        assert entry["examples"].strip() and entry["return"], name
    text = ansible_doc(*names)
    for name in names:
        assert "> MODULE %s" % name in text, name


def test_every_role_renders_its_entry_points():
    names = ["%s.%s" % (COLLECTION, role) for role in ROLES]
    docs = json.loads(ansible_doc("-t", "role", "--json", *names))
    for name in names:
        assert docs[name]["entry_points"]["main"]["short_description"], name
    text = ansible_doc("-t", "role", *names)
    for name in names:
        assert "> ROLE: *%s*" % name in text, name
