"""The web processes' gunicorn worker: gthread that keeps a busy keep-alive connection.

gunicorn's gthread worker hands every request of a keep-alive connection from its main
thread (which polls the idle connections) to a pool thread, and the connection back to the
main thread once answered: two thread hand-offs under the GIL per request, with a pipe write
and two poller changes. A client that calls again at once (a script scoring rows one by one,
a proxy's upstream connection under load) pays them on every call. Here the pool thread that
answered waits a moment (``FOLLOW_UP_WAIT_S``) for the connection's next request and answers
it itself; a connection that stays quiet goes back to the main thread's poller as before,
and so does every connection while another one's request waits for a thread (one busy
client must not hold a thread while others queue).
"""

from __future__ import annotations

import select

from gunicorn.workers.gthread import ThreadWorker

FOLLOW_UP_WAIT_S = 0.002  # a loopback client's next call comes within ~0.2 ms
MAX_FOLLOW_UPS = 20  # then back to the poller, so one connection cannot keep a thread


class KeepAliveThreadWorker(ThreadWorker):
    def handle(self, conn):
        keep = super().handle(conn)
        if self.cfg.is_ssl:  # bytes buffered inside TLS do not show up in poll()
            return keep
        for _ in range(MAX_FOLLOW_UPS):
            if keep is not True or not self.alive or self._others_waiting():
                break
            if not conn.parser.unreader.buf.getvalue():  # no part of the next request read yet
                waiter = select.poll()
                try:
                    waiter.register(conn.sock, select.POLLIN)
                    if not waiter.poll(FOLLOW_UP_WAIT_S * 1000):
                        break
                except (OSError, ValueError):
                    return False
            keep = super().handle(conn)
        return keep

    def _others_waiting(self) -> bool:
        """Whether a request of another connection waits in the pool's queue for a thread."""
        queue = getattr(self.tpool, "_work_queue", None)
        return queue is not None and not queue.empty()
