"""Faults on the running cluster, each seen as a client sees it through the balancer (or on the
other replica): a web replica killed under load, a token revoked and a service stopped on one
replica, a worker killed mid-training, the active beat killed. Every test brings back what it
killed, so the next one starts from a whole cluster; each adds a row to the fault table."""

from __future__ import annotations

import time
from collections import Counter

from tests.cluster import flows
from tests.processes import wait_for

# A change made through one replica is seen by every other one within this (issue 23).
CROSS_REPLICA_SECONDS = 2.0
# What the machine adds on top of it: the polling request itself, on a shared 2-core machine.
POLL_SLACK_SECONDS = 1.0
# Worker loss: the training fails or goes back to the queue within this.
WORKER_LOSS_SECONDS = 30.0


def _until(predicate, *, timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until ``predicate()`` holds, or None when it did not within ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None


def _fmt(seconds: float | None, limit: float) -> str:
    return f"{seconds:.1f} s" if seconds is not None else f"not within {limit:g} s"


def test_a_web_replica_killed_under_load_fails_only_requests_in_flight_on_it(cluster, deployed, fault_table):
    _, tabular = deployed
    clients, seconds = 4, 20.0
    marks: dict[str, float] = {}

    def kill() -> None:
        marks["kill"] = time.monotonic()
        cluster.kill("web1")  # returns once the process group is gone
        marks["dead"] = time.monotonic()
        marks["down"] = cluster.wait_state("web1", "DOWN", timeout=10)

    outcomes = flows.load(cluster.api, tabular, clients=clients, seconds=seconds, events=[(5.0, kill)])
    killed, dead = marks["kill"], marks["dead"]
    out_of_pool = dead + marks["down"]
    failed = [o for o in outcomes if not o.ok]
    before = [o for o in outcomes if o.ended < killed]
    after = [o for o in outcomes if o.started > out_of_pool]
    restart_started = time.monotonic()
    cluster.restart("web1")
    back_up = cluster.wait_state("web1", "UP", timeout=30) + (time.monotonic() - restart_started)
    fault_table.add(
        f"web replica kill -9 under {seconds:g} s of inference, {clients} clients",
        f"{len(failed)} of {len(outcomes)} requests failed ({dict(Counter(o.status for o in failed))}), "
        "all in flight on web1 at the kill; the rest answered (by web2 once web1 was gone)",
        f"out of the pool after {marks['down']:.1f} s; back in {back_up:.1f} s after its restart",
    )
    assert Counter(o.replica for o in before if o.ok).keys() == {"web1", "web2"}
    # Only requests already sent to the killed replica may fail, all of them around the kill and
    # none started once the balancer had taken web1 out (a connection it refuses meanwhile is
    # redispatched to web2). The few ms in which web1's processes are dying count as in flight:
    # its listening socket still takes connections then, so a client may lose the request it had
    # on web1 and the next one it sent in those ms (seen: up to 6 of 4 clients on a loaded
    # machine), never more.
    in_flight = [(round(o.started - killed, 3), round(o.ended - killed, 3), o.status) for o in failed]
    assert len(failed) <= 2 * clients, in_flight
    assert all(killed - 1.0 <= o.started <= out_of_pool for o in failed), (dead - killed, in_flight)
    assert after and all(o.ok and o.replica == "web2" for o in after), [o for o in after if not o.ok][:5]
    # And web1 answers again once back.
    seen = Counter(flows.infer(cluster.api(), tabular).headers.get("X-ExeML-Replica") for _ in range(4))
    assert set(seen) == {"web1", "web2"}, seen


def test_a_token_revoked_through_one_replica_is_refused_by_the_other_within_2_s(cluster, deployed, fault_table):
    _, tabular = deployed
    owner = cluster.api()
    created = owner.ok(owner.post("/api/v1/tokens", {"name": "cluster-revoke"}), 201)
    on_web1, on_web2 = cluster.replica_api("web1", created["key"]), cluster.replica_api("web2", created["key"])
    for api in (on_web1, on_web2):  # each replica has checked (and may cache) the token
        assert flows.infer(api, tabular).status_code == 200
    r = cluster.replica_api("web1").delete(f"/api/v1/tokens/{created['id']}")
    assert r.status_code == 204, r.text
    limit = 15.0
    refused = _until(lambda: flows.infer(on_web2, tabular).status_code == 401, timeout=limit)
    fault_table.add("token revoked through web1", f"web2 still answered it for {_fmt(refused, limit)}",
                    "(nothing to heal)")
    assert flows.infer(on_web1, tabular).status_code == 401
    assert refused is not None and refused <= CROSS_REPLICA_SECONDS + POLL_SLACK_SECONDS, refused


def test_a_service_stopped_through_one_replica_stops_answering_on_the_other_within_2_s(
    cluster, deployed, fault_table
):
    image, _ = deployed
    web1, web2 = cluster.replica_api("web1"), cluster.replica_api("web2")
    for api in (web1, web2):  # both replicas have the running service in their caches
        assert flows.infer(api, image).status_code == 200
    service = image.service["id"]
    web1.ok(web1.post(f"/api/v1/services/{service}/stop"))
    limit = 15.0
    refused = _until(lambda: flows.infer(web2, image).status_code == 409, timeout=limit)
    started = time.monotonic()
    web2.ok(web2.post(f"/api/v1/services/{service}/start"), 202)
    wait_for(lambda: web2.ok(web2.get(f"/api/v1/services/{service}"))["status"] == "running", timeout=120,
             interval=0.5, message="service restart")
    answering = _until(lambda: all(flows.infer(api, image).status_code == 200 for api in (web1, web2)),
                       timeout=limit)
    restarted = time.monotonic() - started
    fault_table.add("service stopped through web1", f"web2 answered it for {_fmt(refused, limit)}, then 409",
                    f"started again through web2: both replicas answer {restarted:.1f} s later")
    assert refused is not None and refused <= CROSS_REPLICA_SECONDS + POLL_SLACK_SECONDS, refused
    assert answering is not None


def _running_on(cluster, marker: str) -> str | None:
    return next((n for n in ("cpu1", "cpu2") if marker in cluster.processes[n].read_log(since_start=True)), None)


def test_a_worker_killed_mid_training_hands_the_training_to_the_other_worker(cluster, deployed, fault_table):
    _, tabular = deployed
    api = cluster.api()
    version = flows.train(api, tabular.project, max_minutes=0.5)
    url = flows.version_url(tabular.project, version)
    marker = f"training {tabular.project['name']} {version['name']} "
    victim = wait_for(lambda: _running_on(cluster, marker), timeout=60, message="the training to start")
    other = "cpu2" if victim == "cpu1" else "cpu1"
    wait_for(lambda: api.ok(api.get(url))["phase"] not in ("", "starting", "downloading data"), timeout=60,
             message="the training to be under way")
    cluster.kill(victim)
    killed = time.monotonic()

    def handled() -> bool:
        v = api.ok(api.get(url))
        return v["status"] in ("queued", "failed") or marker in cluster.processes[other].read_log(since_start=True)

    # Past the bound plus a margin, not the ~135 s heartbeat window: a miss is reported, not awaited.
    limit = WORKER_LOSS_SECONDS + 15
    final: dict = {}
    restart_started = time.monotonic()
    try:
        noticed = _until(handled, timeout=limit, interval=0.5)
        if noticed is not None:
            final = wait_for(lambda: (v := api.ok(api.get(url)))["status"] in ("completed", "failed", "stopped") and v,
                             timeout=240, interval=1, message="the training to end")
        finished = time.monotonic() - killed
    finally:
        restart_started = time.monotonic()
        cluster.restart(victim)
    error = f" ({final['error']})" if final.get("error") else ""
    fault_table.add(
        "worker kill -9 mid-training",
        f"version {final.get('status', 'still running')}{error}; re-queued or failed after {_fmt(noticed, limit)}",
        f"training ended {finished:.0f} s after the kill; worker back in {time.monotonic() - restart_started:.1f} s"
        if final else f"worker back in {time.monotonic() - restart_started:.1f} s",
    )
    assert noticed is not None and noticed <= WORKER_LOSS_SECONDS, noticed
    assert final["status"] == "completed", final
    assert marker in cluster.processes[other].read_log(since_start=True)


SENT = "Sending due task"


def _sent(cluster) -> dict[str, int]:
    return {n: cluster.processes[n].read_log().count(SENT) for n in ("beat1", "beat2")}


def test_one_beat_acts_and_the_standby_takes_over_when_it_is_killed(cluster, fault_table):
    interval = float(cluster.extra_env["EXEML_BEAT_INTERVAL_SECONDS"])
    first = _sent(cluster)
    time.sleep(3 * interval + 1)
    acting = [n for n, count in _sent(cluster).items() if count > first[n]]
    if len(acting) != 1:
        fault_table.add("two beats running", f"{len(acting)} beats sent periodic tasks", "-")
    assert len(acting) == 1, acting
    active = acting[0]
    standby = "beat2" if active == "beat1" else "beat1"
    cluster.kill(active)
    base = _sent(cluster)[standby]
    limit = 60.0
    took_over = _until(lambda: _sent(cluster)[standby] > base, timeout=limit, interval=0.2)
    cluster.restart(active)
    again = _sent(cluster)
    time.sleep(3 * interval + 1)
    now = _sent(cluster)
    fault_table.add("active beat kill -9", f"periodic tasks paused {_fmt(took_over, limit)}",
                    f"standby took over; restarted beat waits as standby: {now[active] == again[active]}")
    assert took_over is not None and took_over <= 5 * interval, took_over
    assert now[active] == again[active] and now[standby] > again[standby], (again, now)
