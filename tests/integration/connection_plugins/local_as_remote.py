"""The local connection under another name: ansible treats the host as remote (modules are packaged
and run by the host's Python), which is what the release task's remote path needs to be tested
on one machine."""

from ansible.plugins.connection import local

DOCUMENTATION = local.DOCUMENTATION.replace("name: local", "name: local_as_remote", 1)


class Connection(local.Connection):
    transport = "local_as_remote"
