"""Each role's Molecule scenario (extensions/molecule/<role>) against the local cluster:
create, converge, idempotence, verify and destroy, as `molecule test -s <role>` runs them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SCENARIOS = ["environment", "workload", "release_gate", "blue_green", "canary", "rolling"]


# Five playbook runs and a namespace deletion: more than the default per-test timeout on a busy machine.
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(cluster, scenario):
    bin_dir = str(Path(sys.executable).parent)
    # The scenarios reach the cluster through inventories/local, which reads PD_CLUSTER_DIR.
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
               PD_CLUSTER_DIR=str(Path(cluster["kubeconfig"]).parent), ANSIBLE_FORCE_COLOR="0",
               NO_COLOR="1", PY_COLORS="0")
    command = [str(Path(bin_dir) / "molecule"), "test", "-s", scenario]
    try:
        result = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=1700, check=False)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"molecule test -s {scenario} did not finish in {error.timeout}s:\n{error.output}")
    assert result.returncode == 0, f"molecule test -s {scenario} failed ({result.returncode}):\n{result.stdout}"
