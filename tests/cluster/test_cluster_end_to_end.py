"""Through HAProxy in front of two web replicas: an image-classification and a
predictive-analytics project end to end (upload or put, label, train, deploy, infer), every
call through the balancer, and both replicas answering the inference calls."""

from __future__ import annotations

from collections import Counter

from tests.cluster import flows
from tests.cluster.harness import REPLICA_HEADER


def _answers(cluster, deployed: flows.Deployed, n: int = 6) -> tuple[list[dict], Counter]:
    api = cluster.api()
    bodies, replicas = [], Counter()
    for _ in range(n):
        r = flows.infer(api, deployed)
        assert r.status_code == 200, r.text
        bodies.append(r.json())
        replicas[r.headers[REPLICA_HEADER]] += 1
    return bodies, replicas


def test_the_balancer_spreads_requests_over_both_ready_replicas(cluster):
    assert cluster.server_states() == {"web1": "UP", "web2": "UP"}
    api = cluster.api()
    seen = Counter()
    for _ in range(4):
        r = api.get("/api/v1/me")
        assert r.status_code == 200, r.text
        seen[r.headers[REPLICA_HEADER]] += 1
    assert set(seen) == {"web1", "web2"}, seen


def test_image_classification_through_the_balancer_answers_on_both_replicas(cluster, deployed):
    image, _ = deployed
    assert image.version["metrics"] and image.service["status"] == "running"
    bodies, replicas = _answers(cluster, image)
    assert set(replicas) == {"web1", "web2"}, replicas
    # Both replicas serve the same model: the same answer to the same image.
    assert all(b["predicted_label"] in flows.IMAGE_CLASSES for b in bodies), bodies
    assert len({(b["predicted_label"], str(b["scores"])) for b in bodies}) == 1, bodies


def test_predictive_analytics_through_the_balancer_answers_on_both_replicas(cluster, deployed):
    _, tabular = deployed
    assert tabular.version["metrics"] and tabular.service["status"] == "running"
    bodies, replicas = _answers(cluster, tabular)
    assert set(replicas) == {"web1", "web2"}, replicas
    # Both replicas serve the same model: the same prediction for the same record.
    assert len({b["resp_data"][0]["predictioncol"] for b in bodies}) == 1, bodies
