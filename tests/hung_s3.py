"""A hung S3 endpoint for tests: a real TCP server on 127.0.0.1 that accepts connections
and never answers. With ``upstream`` (moto's port), listings are forwarded to it and every
other request (object reads) hangs: a storage that lists but stops answering mid-sync."""

from __future__ import annotations

import socket
import threading


class HungS3:
    def __init__(self, upstream_port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self.held: list[socket.socket] = []  # connections left without an answer
        self.held_requests: list[str] = []  # their request lines ("GET /bucket/key HTTP/1.1")
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self._server.close()
        for conn in list(self.held):
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self) -> HungS3:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    conn.close()
                    return
                head += chunk
        except OSError:
            return
        first_line = head.split(b"\r\n", 1)[0]
        if self.upstream_port is None or b"list-type=2" not in first_line:
            self.held_requests.append(first_line.decode("latin-1"))
            self.held.append(conn)  # read, never answered
            return
        # A listing: forward it on a fresh connection closed after the answer (one request per
        # connection, so a kept-alive connection never carries a read past this check).
        header, _, rest = head.partition(b"\r\n\r\n")
        lines = [ln for ln in header.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + rest
        try:
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
                up.sendall(request)
                while chunk := up.recv(65536):
                    conn.sendall(chunk)
        except OSError:
            pass
        finally:
            conn.close()
