"""Loads the PrometheusRule objects of every namespace into the local Prometheus.

What the Prometheus Operator does on a real cluster: it renders each PrometheusRule's spec.groups
to a rule file of the Prometheus it manages (a ConfigMap mounted into the pod), and its config
reloader tells Prometheus to reload. Here the files go to a directory the local Prometheus's
rule_files names, and /-/reload is called whenever they change (polled every second).
"""

import argparse
import json
import logging
import ssl
import time
import urllib.request
from pathlib import Path

import yaml

RULES_PATH = "/apis/monitoring.coreos.com/v1/prometheusrules"
log = logging.getLogger("prometheus-rules")


def rule_files(items):
    """{file name: content} for PrometheusRule objects, one file per object."""
    files = {}
    for item in items:
        meta = item["metadata"]
        groups = (item.get("spec") or {}).get("groups") or []
        files[f"{meta['namespace']}--{meta['name']}.yml"] = yaml.safe_dump({"groups": groups}, sort_keys=False)
    return files


def write_rule_files(directory, files):
    """Makes directory hold exactly files; True when anything changed."""
    changed = False
    for path in directory.glob("*.yml"):
        if path.name not in files:
            path.unlink()
            changed = True
    for name, content in files.items():
        path = directory / name
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
            changed = True
    return changed


class Cluster:
    """The PrometheusRules, read with the kubeconfig's client certificate (the local cluster writes it as JSON)."""

    def __init__(self, kubeconfig):
        config = json.loads(Path(kubeconfig).read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        self.server = cluster["server"]
        self.context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self.context.load_cert_chain(user["client-certificate"], user["client-key"])

    def prometheus_rules(self):
        with urllib.request.urlopen(self.server + RULES_PATH, context=self.context, timeout=10) as response:
            return json.load(response)["items"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--rules-dir", required=True, type=Path)
    parser.add_argument("--prometheus-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cluster = Cluster(args.kubeconfig)
    args.rules_dir.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            files = rule_files(cluster.prometheus_rules())
            if write_rule_files(args.rules_dir, files):
                urllib.request.urlopen(urllib.request.Request(args.prometheus_url + "/-/reload", method="POST"),
                                       timeout=10).close()
                log.info("loaded %d PrometheusRule(s) into Prometheus", len(files))
        except OSError:  # the API server or Prometheus restarting: try again next second
            log.exception("syncing the rules failed")
        time.sleep(1)


if __name__ == "__main__":
    main()
