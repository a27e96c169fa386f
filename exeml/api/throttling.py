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
    """Invalid tokens count, per client address and per presented token (its hash).

    Only invalid tokens are ever refused: the token is checked first (one indexed query, or
    the inference auth cache) and a valid one passes whatever its address did. Many users
    share an address (an office NAT, a proxy without EXEML_TRUSTED_PROXIES), so one of them
    sending bad tokens must not lock the others out. Past the rate, an address's invalid
    tokens (and one invalid token, from any address) get 429 instead of 401; tokens are 160
    random bits, so the 429 tells a scanner to back off rather than guarding the token space.
    """

    scope = "auth"

    def cache_keys(self, request, key_hash: str) -> tuple[str, str]:
        return (
            self.cache_format % {"scope": "bad-token", "ident": self.get_ident(request)},
            self.cache_format % {"scope": "bad-token-key", "ident": key_hash},
        )

    def failed(self, request, key_hash: str) -> float | None:
        """An invalid token was presented: the seconds to wait when its address or the token
        is over the rate (nothing is recorded then), else None once the failure is counted."""
        if self.rate is None:
            return None
        now = self.timer()
        histories: dict[str, list[float]] = {}
        wait = None
        for key in self.cache_keys(request, key_hash):
            # Newest first, as DRF keeps it; only the window's failures count.
            history = [t for t in self.cache.get(key, []) if t > now - self.duration]
            histories[key] = history
            if len(history) >= self.num_requests:
                wait = max(wait or 0.0, self.duration - (now - history[self.num_requests - 1]))
        if wait is not None:
            return wait
        for key, history in histories.items():
            self.cache.set(key, [now, *history][: self.num_requests], self.duration)
        return None
