"""Fixtures for the storage tests: a real S3 endpoint (moto's server, or EXEML_S3_ENDPOINT_URL)."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from exeml.storage import LocalObjectStore, ObjectStore, S3ObjectStore

MIB = 1024 * 1024
MULTIPART_THRESHOLD = 5 * MIB  # moto (like S3) refuses parts under 5 MiB


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of an S3 endpoint: EXEML_S3_ENDPOINT_URL if set, else a moto server on a free port."""
    url = os.environ.get("EXEML_S3_ENDPOINT_URL")
    if url:
        yield url
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_credentials() -> tuple[str, str, str]:
    return (
        os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        os.environ.get("EXEML_S3_REGION", "us-east-1"),
    )


@pytest.fixture(scope="session")
def s3_store(s3_endpoint: str, s3_credentials: tuple[str, str, str]) -> S3ObjectStore:
    access, secret, region = s3_credentials
    return S3ObjectStore(s3_endpoint, access, secret, region, multipart_threshold=MULTIPART_THRESHOLD)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


@pytest.fixture
def bucket(store: ObjectStore) -> str:
    """A fresh bucket per test so S3 tests share one server without seeing each other's keys."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    store.ensure_bucket(name)
    return name
