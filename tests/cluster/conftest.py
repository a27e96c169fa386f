"""The cluster of tests/cluster: started once per session (it takes a minute), shared by every
test here. A test that kills a process brings it back before it ends, so the next test finds
the whole cluster healthy; each fault adds a row to the fault table printed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster import flows
from tests.cluster.harness import Cluster, missing


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    why = missing()
    if why:
        pytest.skip(why)
    # Beat ticks every few seconds here, so that a beat's takeover shows within a test.
    c = Cluster(tmp_path_factory.mktemp("cluster"), extra_env={"EXEML_BEAT_INTERVAL_SECONDS": "3"})
    try:
        c.start()
    except BaseException:
        c.stop()
        raise
    yield c
    c.stop()


@pytest.fixture(scope="session")
def deployed(cluster) -> tuple[flows.Deployed, flows.Deployed]:
    """An image-classification and a predictive-analytics service, built through the balancer."""
    return flows.train_and_deploy_both(cluster.api(), cluster.bucket)


class FaultTable:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, fault: str, client_saw: str, healthy_after: str) -> None:
        self.rows.append((fault, client_saw, healthy_after))

    def render(self) -> str:
        lines = ["| fault | what a client saw | healthy again after |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in self.rows]
        return "\n".join(lines)


@pytest.fixture(scope="session")
def fault_table(request) -> Iterator[FaultTable]:
    table = FaultTable()
    yield table
    if table.rows:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("\ncluster fault table:\n" + table.render())
