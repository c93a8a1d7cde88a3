from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.nginx import NginxRouter


def ingress(name, service, annotations=None):
    return {"metadata": {"name": name, "annotations": annotations or {}, "labels": {"team": "shop"}},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.example", "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}}


def router(module):
    nginx = NginxRouter(module())
    nginx.canary_name = "web-canary-ingress"
    return nginx


def test_the_canary_ingress_is_derived_from_the_stable_one(module):
    nginx = router(module)
    stable = ingress("web", "web-stable", {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"})
    desired = nginx.desired({"stable": stable, "canary": None}, {"weight": 20})
    canary = desired["canary"]
    assert desired["stable"] == stable
    assert canary["metadata"]["name"] == "web-canary-ingress"
    assert canary["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "8m", "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "20"}
    assert canary["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "terragonlabs.progressive_delivery"
    assert canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "web-canary"
    assert nginx.state(desired)["weights"] == {"web-stable": 80, "web-canary": 20}
    assert nginx.desired(desired, {"weight": 20}) == desired


def test_an_existing_canary_keeps_its_other_annotations_and_weight_total(module):
    nginx = router(module)
    existing = ingress("web-canary-ingress", "web-canary", {
        "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "100",
        "nginx.ingress.kubernetes.io/canary-weight-total": "1000", "owner": "someone"})
    assert nginx.state({"stable": ingress("web", "web-stable"), "canary": existing})["weights"]["web-canary"] == 10
    desired = nginx.desired({"stable": ingress("web", "web-stable"), "canary": existing}, {"weight": 50})
    annotations = desired["canary"]["metadata"]["annotations"]
    assert annotations["owner"] == "someone" and annotations["nginx.ingress.kubernetes.io/canary-weight"] == "500"


def test_removing_managed_routes_deletes_the_canary_ingress(module):
    nginx = router(module)
    desired = nginx.desired({"stable": ingress("web", "web-stable"), "canary": ingress("c", "web-canary")},
                            {"remove_managed_routes": True})
    assert desired["canary"] is None
    assert nginx.state(desired)["weights"] == {"web-stable": 100, "web-canary": 0}
