"""Rate limits on credentials, keyed on the real client address.

DRF's default identity is the whole X-Forwarded-For header, which a client sets itself: a new
value per request was never throttled. Here the header counts only when the connection comes
from a proxy listed in EXEML_TRUSTED_PROXIES, and then the client is the right-most address
that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(settings.EXEML_TRUSTED_PROXIES)))


def client_address(request) -> str:
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "") or ""
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if not forwarded or not _trusted(remote):
        return remote
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop):
            return hop
    return remote


class _AddressThrottle(SimpleRateThrottle):
    scope = "auth"
    # Shared by every web process of the machine (or the cluster, with Redis).
    cache = caches["shared"]

    def get_ident(self, request) -> str:
        return client_address(request)


class AuthThrottle(_AddressThrottle):
    """Every login and token request counts."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedTokenThrottle(_AddressThrottle):
    """Invalid tokens count; past the rate every token from that address is refused unchecked."""

    scope = "auth"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": "bad-token", "ident": self.get_ident(request)}

    def blocked(self, request) -> float | None:
        """Seconds to wait when the address is over its rate (nothing is recorded)."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return self.wait() if len(self.history) >= self.num_requests else None

    def record(self, request) -> None:
        if self.rate is not None:
            self.allow_request(request, None)
