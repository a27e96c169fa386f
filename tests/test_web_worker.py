"""The web worker (exeml.web_worker): a keep-alive connection's next request, whether it comes
at once, in the same packet or after a pause, is answered exactly once and in order."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

APP = '''
import gc
import itertools
import threading
import time

_served = itertools.count(1)
_count_lock = threading.Lock()
_worker = []


def _another_request_waits():
    # The test app looks into its own gunicorn worker: is a request of another connection
    # queued for the (single) thread?
    if not _worker:
        _worker.append(next(o for o in gc.get_objects() if type(o).__name__ == "KeepAliveThreadWorker"))
    return not _worker[0].tpool._work_queue.empty()


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    note = ""
    if environ["PATH_INFO"] == "/hold":  # answered once another connection's request waits
        deadline = time.monotonic() + 120
        while not _another_request_waits():
            if time.monotonic() > deadline:
                note = "(no other request came) "
                break
            time.sleep(0.01)
    with _count_lock:
        order = next(_served)  # the answers' order across connections
    answer = (environ["PATH_INFO"] + " " + body.decode() + " " + note + str(order)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]
'''


def _request(path: str, body: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def answer(self) -> tuple[int, str]:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(v.split(b":")[1]) for v in lines[1:] if v.lower().startswith(b"content-length:"))
        while len(rest) < length:
            self.buffer = head + b"\r\n\r\n" + rest
            self._more()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return int(lines[0].split()[1]), rest[:length].decode()

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buffer += chunk


@pytest.fixture(params=["2"])
def server(tmp_path, request):
    (tmp_path / "tinyapp.py").write_text(APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tinyapp:app", "--chdir", str(tmp_path), "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", request.param, "--worker-class", "exeml.web_worker.KeepAliveThreadWorker",
         "--keep-alive", "5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.1)
    yield port
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()[-2000:]


def test_back_to_back_pipelined_and_paused_requests_on_one_connection(server):
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    reader = _Reader(sock)
    for i in range(20):  # at once: the follow-up path
        sock.sendall(_request(f"/n{i}", f"body{i}"))
        status, text = reader.answer()
        assert status == 200 and text.startswith(f"/n{i} body{i} ")
    # Two requests in one packet: both answered, in order.
    sock.sendall(_request("/a", "x") + _request("/b", "y"))
    assert reader.answer()[1].startswith("/a x ")
    assert reader.answer()[1].startswith("/b y ")
    # After a pause longer than the follow-up wait the connection is back with the poller.
    time.sleep(0.3)
    sock.sendall(_request("/late", "z"))
    assert reader.answer()[1].startswith("/late z ")
    sock.close()


def test_a_client_that_closes_while_the_worker_waits_does_not_break_it(server):
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", server), timeout=10)
        sock.sendall(_request("/one", "q"))
        assert _Reader(sock).answer()[0] == 200
        sock.close()  # during the follow-up wait
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    sock.sendall(_request("/after", "r"))
    assert _Reader(sock).answer()[1].startswith("/after r ")
    sock.close()


@pytest.mark.parametrize("server", ["1"], indirect=True)
def test_a_busy_connection_gives_the_thread_up_when_another_waits(server):
    """One thread; connection A's next request is already there when its current one is
    answered, and B's request waits for the thread meanwhile: B is answered before A's next
    request (a follow-up would otherwise keep the thread for A). An order, not a speed: /hold
    is answered only once B's request waits in the worker's queue."""
    a = socket.create_connection(("127.0.0.1", server), timeout=150)
    a.sendall(_request("/hold", "x") + _request("/a", "x"))
    b = socket.create_connection(("127.0.0.1", server), timeout=150)
    b.sendall(_request("/b", "y"))
    a_reader = _Reader(a)
    hold, b_answer, a_next = a_reader.answer()[1], _Reader(b).answer()[1], a_reader.answer()[1]
    a.close()
    b.close()
    assert hold.startswith("/hold x ") and "no other request came" not in hold, hold
    assert b_answer.startswith("/b y ") and a_next.startswith("/a x ")

    def order(text: str) -> int:
        return int(text.rsplit(" ", 1)[1])

    assert order(hold) < order(b_answer) < order(a_next), (hold, b_answer, a_next)
