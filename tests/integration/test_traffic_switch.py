"""What traffic_switch and traffic_info do with every router, on the real API server: check mode,
a real change, both again (idempotent), the readiness refusal, and edits by someone else."""

import threading
import time

import pytest

from conftest import run_module, wait_for
from traffic_cases import CASES, NOT_READY, two_versions


@pytest.fixture(params=sorted(CASES))
def case(request, api_client, namespace):
    return CASES[request.param](api_client, namespace)


def four_ways(cluster, case, args):
    """check, real, check again, real again: changed True/True/False/False, check writes nothing."""
    unwritten = case.versions()
    checked = run_module(cluster, "traffic_switch", args, check=True, diff=True)
    assert not checked.get("failed"), checked
    assert checked["changed"] is True and checked["verified"] is False
    assert case.versions() == unwritten
    real = run_module(cluster, "traffic_switch", args)
    assert not real.get("failed"), real
    assert real["changed"] is True and real["verified"] is True
    assert real["after"] == checked["after"] and real["before"] == checked["before"]
    assert checked["diff"] == {"before": checked["before"], "after": checked["after"]}
    written = case.versions()
    for check in (True, False):
        again = run_module(cluster, "traffic_switch", args, check=check)
        assert not again.get("failed"), again
        assert again["changed"] is False and again["verified"] is True
        assert again["after"] == real["after"]
    assert case.versions() == written
    return real


def settle(case, quiet=2.0):
    """Waits until nothing has written the case's objects for `quiet` seconds."""
    previous = [case.versions()]

    def quiet_for_a_while():
        time.sleep(quiet)
        current = case.versions()
        unchanged, previous[0] = current == previous[0], current
        return unchanged

    wait_for(quiet_for_a_while, 120, "the objects to stop changing")


def test_switch_four_ways_and_info(case, cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case.create()
    args = case.args()
    stable, canary = args["stable"], args["canary"]
    weight = case.weights[0]

    real = four_ways(cluster, case, case.args(weight=weight))
    assert real["router"] == case.router
    assert real["before"]["weights"] == case.initial()
    assert real["after"]["weights"] == {stable: 100 - weight, canary: weight}
    # What the API server (and the router's CRD schema) accepted and stored is what was asked.
    assert case.written_weights() == {stable: 100 - weight, canary: weight}

    info = run_module(cluster, "traffic_info", args)
    assert not info.get("failed"), info
    assert info["changed"] is False and info["router"] == case.router
    assert info["weights"] == real["after"]["weights"]
    assert info["header_route"] is None and info["mirror"] == 0
    assert case.ready_after_first_switch(info["ready_endpoints"]), info


def test_a_backend_without_ready_endpoints_gets_no_traffic(case, cluster, api_client, namespace):
    two_versions(api_client, namespace, canary_annotations=NOT_READY)
    case.create()
    args = case.args(weight=case.weights[0])
    unwritten = case.versions()

    refused = run_module(cluster, "traffic_switch", args)
    assert refused.get("failed"), refused
    assert refused["msg"] == ("backend %s has no ready endpoints; refusing to send it traffic "
                              "(require_ready_endpoints=false overrides this)" % args["canary"])
    assert case.versions() == unwritten

    forced = run_module(cluster, "traffic_switch", dict(args, require_ready_endpoints=False))
    assert not forced.get("failed"), forced
    assert forced["changed"] is True and forced["after"]["weights"][args["canary"]] == case.weights[0]


def test_someone_elses_concurrent_edits_survive(case, cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case.create()
    first = run_module(cluster, "traffic_switch", case.args(weight=case.weights[0]))
    assert first["changed"], first
    untouched = {name: version for name, version in case.versions().items() if name == "other"}
    settle(case)  # controllers finish reacting to the first switch; only "someone else" edits now

    # Someone keeps editing the managed object while the switch reads, computes and writes it;
    # twice a second, so a loaded machine still gets a write through within the conflict retries.
    stop, edits = threading.Event(), []

    def edit():
        while not stop.is_set():
            edits.append("OPS-%d" % len(edits))
            case.edit_unrelated(edits[-1])
            stop.wait(0.5)

    editor = threading.Thread(target=edit)
    editor.start()
    try:
        result = run_module(cluster, "traffic_switch", case.args(weight=case.weights[1]))
    finally:
        stop.set()
        editor.join()
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["verified"] is True
    args = case.args()
    assert case.written_weights() == {args["stable"]: 100 - case.weights[1], args["canary"]: case.weights[1]}
    assert case.unrelated() == edits[-1]
    assert {name: version for name, version in case.versions().items() if name == "other"} == untouched
