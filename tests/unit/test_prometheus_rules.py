"""The local cluster's rule loading: one rule file per PrometheusRule, rewritten only when it changes."""

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "local_cluster"))

import prometheus_rules  # noqa: E402

ALERT = {"alert": "HighErrorRate", "expr": "vector(1) > 0", "for": "10s", "labels": {"app": "web", "namespace": "shop"}}
GROUPS = [{"name": "web-deployment", "rules": [ALERT]}]


def rule(namespace, name, groups):
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"groups": groups}}


def test_each_prometheus_rule_becomes_a_file_of_its_groups():
    files = prometheus_rules.rule_files([rule("shop", "web-release-alerts", GROUPS), rule("test", "empty", [])])
    assert sorted(files) == ["shop--web-release-alerts.yml", "test--empty.yml"]
    assert yaml.safe_load(files["shop--web-release-alerts.yml"]) == {"groups": GROUPS}
    assert yaml.safe_load(files["test--empty.yml"]) == {"groups": []}


def test_files_are_written_removed_and_left_alone_as_the_rules_change(tmp_path):
    files = prometheus_rules.rule_files([rule("shop", "web-release-alerts", GROUPS)])
    assert prometheus_rules.write_rule_files(tmp_path, files)
    assert not prometheus_rules.write_rule_files(tmp_path, files)  # nothing to reload
    assert prometheus_rules.write_rule_files(tmp_path, {})  # the namespace was deleted
    assert list(tmp_path.iterdir()) == []
