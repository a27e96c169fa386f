"""The cluster of tests/cluster: started once per session (it takes a minute), shared by every
test here. A test that kills a process brings it back before it ends, so the next test finds
the whole cluster healthy; each fault adds a row to the fault table printed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster import flows
from tests.cluster.harness import REPO, Cluster, missing


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


FAULTS = FaultTable()


@pytest.fixture(scope="session")
def fault_table() -> FaultTable:
    return FAULTS


def pytest_terminal_summary(terminalreporter) -> None:
    """The fault table after the run (also in test-artifacts/cluster/faults.md)."""
    if not FAULTS.rows:
        return
    terminalreporter.write_sep("-", "cluster fault table")
    terminalreporter.write_line(FAULTS.render())
    out = REPO / "test-artifacts" / "cluster"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.md").write_text(FAULTS.render() + "\n")
