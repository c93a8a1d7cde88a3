"""Stand-in for get-pip.py, which ansible-test downloads from a host this project cannot reach.

ansible-test runs this file with pip's install arguments (for example `pip==24.2
--disable-pip-version-check --no-setuptools --no-wheel`). Python's bundled pip (ensurepip) is
installed first, then it installs the requested packages from PyPI like get-pip.py would.
"""

import ensurepip
import os
import ssl
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
arguments = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_OPTIONS]
# The bundled pip trusts only its own CA bundle; use the system's, which a proxy's CA may be in.
system_cafile = ssl.get_default_verify_paths().cafile
if system_cafile and os.path.exists(system_cafile):
    arguments.append(f"--cert={system_cafile}")
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *arguments]))
