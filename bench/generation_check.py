"""The per-call cost of the cross-replica checks on the inference hot path: figures, never
assertions.

A warm ``POST /v1/infers/<id>`` answers from the process's memory: the checked token
(exeml/tenancy/tokencache.py) and the running service (serving/lookup.py). Each is used only
while its generation in the shared cache still holds (exeml/generation.py): the auth
generation is read at most every EXEML_GENERATION_CHECK_SECONDS (a clock read per call), the
service's generation on every call (one shared-cache read). Prints, per shared cache (Redis
when CELERY_BROKER_URL/EXEML_CACHE_URL name it, the embedded folder otherwise), the cost of
one call of each lookup as the hot path makes it, beside the bare in-memory lookup, in µs.

    python bench/generation_check.py                       # the shared cache the env names
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 python bench/generation_check.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exeml.settings")
os.environ.setdefault("EXEML_HOME", tempfile.mkdtemp(prefix="exeml-bench-gen-"))
os.environ.setdefault("EXEML_AUTH_CACHE_SECONDS", "600")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from exeml.ttlcache import TTLCache  # noqa: E402

N = 200_000
ROUNDS = 5


def per_call_us(fn, n: int = N) -> float:
    """Median over ROUNDS of the mean µs per call."""
    results = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        results.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(results)


def main() -> int:
    from exeml.generation import read, write
    from exeml.tenancy.tokencache import auth_cache, auth_generation
    from serving.lookup import service_generation

    key = uuid.uuid4().hex
    bare: TTLCache[str, tuple] = TTLCache("EXEML_AUTH_CACHE_SECONDS")
    bare.put(key, (object(), object()))
    auth_cache.put(key, (object(), object()), auth_generation.current())
    assert auth_cache.get(key) is not None
    service_id = uuid.uuid4()
    write(f"service-generation:{service_id}")

    backend = settings.CACHES["shared"]["BACKEND"].rsplit(".", 1)[1]
    rows = [
        ("token: in-memory lookup only (before)", per_call_us(lambda: bare.get(key))),
        ("token: lookup + auth generation check (after)", per_call_us(lambda: auth_cache.get(key))),
        ("auth generation read from the shared cache (every "
         f"{settings.EXEML_GENERATION_CHECK_SECONDS:g} s)", per_call_us(lambda: read("auth-generation"), 5000)),
        ("service generation read (every call, unchanged)",
         per_call_us(lambda: service_generation(service_id), 5000)),
    ]
    print(f"shared cache: {backend}    python {sys.version.split()[0]}")
    print(f"{'what':<62} {'µs/call':>9}")
    for name, value in rows:
        print(f"{name:<62} {value:>9.3f}")
    added = rows[1][1] - rows[0][1]
    amortised = rows[2][1] / max(1.0, settings.EXEML_GENERATION_CHECK_SECONDS * 1000)  # at 1000 calls/s
    print(f"{'added per call by the auth generation check':<62} {added:>9.3f}")
    print(f"{'+ its shared-cache read amortised at 1000 calls/s':<62} {amortised:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
