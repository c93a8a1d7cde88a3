"""The processes a local tool (tools/local_cluster, tools/local_awx) starts and later stops: each runs
in a session of its own, its output in a log file, and its PID with the kernel's start time in a PID
file, so a recycled PID is never mistaken for it and `down` stops only what `up` started.

`paths` is the tool's own: `paths.pid(component)` and `paths.log(component)` name the files.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path


def process_start_time(pid):
    """The kernel's start time of a running process; None once it is gone or has exited and only
    waits for its parent to reap it (a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def read_pid(paths, component):
    """The component's PID while the process its PID file names runs; None otherwise."""
    try:
        record = json.loads(paths.pid(component).read_text())
    except (OSError, ValueError):
        return None
    if process_start_time(record["pid"]) != record["start_time"]:
        return None
    return record["pid"]


def start(paths, component, argv, env=None, cwd=None):
    """Starts argv in a new session, appending its output to the component's log."""
    paths.pid(component).parent.mkdir(parents=True, exist_ok=True)
    paths.log(component).parent.mkdir(parents=True, exist_ok=True)
    with open(paths.log(component), "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env, cwd=cwd)
    paths.pid(component).write_text(json.dumps(
        {"pid": proc.pid, "start_time": process_start_time(proc.pid), "argv": argv}))
    return proc


def stop(paths, component, grace):
    """SIGTERMs the component's session, SIGKILLs it after grace seconds; whether it was running."""
    pid = read_pid(paths, component)
    paths.pid(component).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process_start_time(pid) is None:
            return True
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def log_tail(paths, component, lines):
    """The last lines of the component's log, for an error message."""
    try:
        text = paths.log(component).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])
