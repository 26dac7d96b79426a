"""OAuth 2.0 tokens a CRM issues us, kept in the store, encrypted, refreshed before expiry.

amoCRM's refresh tokens rotate: each refresh returns a new one and retires the old, so
two workers must never refresh with the same token, and a new pair must be saved before
it is used. The tokens live in one store document (collection `oauth`, id = the
connector's name) shared by every worker:

    {"seed": <hash of the configured grant>, "lease_until": <time>, "sealed": <AES-GCM>}

- A worker whose access token is within `early` seconds of expiry takes a lease on the
  document by compare-and-swap (`Store.swap_doc`), refreshes, and writes the new pair
  straight away. Others see the lease, wait, and read the new pair; a lease left by a
  killed worker runs out after LEASE seconds.
- The tokens are sealed with AES-GCM under a key derived from the client secret, so a
  copy of the store (a Redis dump, the SQLite file) does not hand out CRM access.
- The first pair comes from the grant in the settings (an authorization code or a
  refresh token) or from the OAuth redirect; a changed grant in the settings replaces
  the stored pair, so re-authorizing is: put the new code in the settings, restart.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connectors.store import DocumentStore
from core.clock import Clock
from core.errors import ProviderError

log = logging.getLogger("forecall.crm.oauth")
COLLECTION = "oauth"
LEASE = 30.0  # seconds a refresh may take before another worker may try
WAIT_STEP = 0.1


@dataclass(frozen=True, slots=True)
class Grant:
    """What to present to the token endpoint: ("authorization_code", code) or
    ("refresh_token", token)."""

    type: str
    value: str

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.type}:{self.value}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float


# (grant) -> the new pair; raises ProviderError (permanent when the grant is dead).
Exchange = Callable[[Grant], Awaitable[Tokens]]


class TokenVault:
    def __init__(
        self,
        name: str,
        store: DocumentStore,
        clock: Clock,
        secret: str,
        exchange: Exchange,
        seed: Grant | None,
        early: float,
    ) -> None:
        self.name = name
        self.store = store
        self.clock = clock
        self.exchange = exchange
        self.seed = seed
        self.early = early
        self._aead = AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"forecall oauth v1").derive(
                secret.encode()
            )
        )
        self._cached: Tokens | None = None
        self._local = asyncio.Lock()  # one refresh per process; the lease covers the rest

    async def access_token(self, stale: str | None = None) -> str:
        """A usable access token; `stale` is one the CRM just refused (401), which is then
        refreshed even if it has not expired."""
        if self._fresh(self._cached, stale):
            return self._cached.access_token  # type: ignore[union-attr]
        async with self._local:
            deadline = time.monotonic() + LEASE
            while True:
                raw = await self.store.get_doc(COLLECTION, self.name)
                doc = orjson.loads(raw) if raw is not None else {}
                tokens = self._open(doc)
                if self._fresh(tokens, stale):
                    self._cached = tokens
                    return tokens.access_token  # type: ignore[union-attr]
                if doc.get("lease_until", 0.0) > self.clock.now():
                    if time.monotonic() > deadline:
                        raise ProviderError(
                            self.name, "a token refresh is stuck in another worker", permanent=False
                        )
                    await asyncio.sleep(WAIT_STEP)  # another worker is refreshing
                    continue
                grant = self._grant(doc, tokens)
                leased = orjson.dumps({**doc, "lease_until": self.clock.now() + LEASE})
                if not await self.store.swap_doc(COLLECTION, self.name, raw, leased):
                    continue  # someone else moved first: read again
                try:
                    fresh = await self.exchange(grant)
                except BaseException:
                    await self.store.swap_doc(COLLECTION, self.name, leased, raw or b"{}")
                    raise
                # The pair descends from the configured grant when that was just used.
                kept = doc.get("seed")
                seed = grant.fingerprint() if grant is self.seed else kept
                await self.save(fresh, seed if isinstance(seed, str) else None)
                log.info("oauth tokens refreshed", extra={"connector": self.name})
                return fresh.access_token

    async def authorize(self, grant: Grant) -> None:
        """A grant from the OAuth redirect: exchange it and keep the pair."""
        async with self._local:
            # The grant in the settings, if any, counts as superseded by this one.
            await self.save(
                await self.exchange(grant),
                self.seed.fingerprint() if self.seed is not None else None,
            )

    async def save(self, tokens: Tokens, seed: str | None) -> None:
        """Written unconditionally: once the CRM has rotated the refresh token, the new
        pair is the only one that works, whoever held the lease."""
        nonce = os.urandom(12)
        plain = orjson.dumps(
            {"a": tokens.access_token, "r": tokens.refresh_token, "e": tokens.expires_at}
        )
        sealed = nonce + self._aead.encrypt(nonce, plain, self.name.encode())
        doc = {
            "seed": seed,  # the fingerprint of the configured grant these descend from
            "lease_until": 0.0,
            "sealed": base64.b64encode(sealed).decode(),
            "expires_at": tokens.expires_at,  # in the clear: for `forecall check` and ops
        }
        await self.store.put_doc(COLLECTION, self.name, None, orjson.dumps(doc))
        self._cached = tokens

    def _fresh(self, tokens: Tokens | None, stale: str | None) -> bool:
        return (
            tokens is not None
            and tokens.access_token != stale
            and tokens.expires_at - self.early > self.clock.now()
        )

    def _open(self, doc: dict[str, object]) -> Tokens | None:
        """The stored pair, unless the configured grant changed since it was issued (the
        integrator re-authorized) or it cannot be opened (the client secret changed)."""
        sealed = doc.get("sealed")
        if not isinstance(sealed, str):
            return None
        if self.seed is not None and doc.get("seed") != self.seed.fingerprint():
            return None
        blob = base64.b64decode(sealed)
        try:
            plain = orjson.loads(self._aead.decrypt(blob[:12], blob[12:], self.name.encode()))
        except (InvalidTag, ValueError):
            log.warning("stored oauth tokens cannot be opened", extra={"connector": self.name})
            return None
        return Tokens(str(plain["a"]), str(plain["r"]), float(plain["e"]))

    def _grant(self, doc: dict[str, object], tokens: Tokens | None) -> Grant:
        if tokens is not None:
            return Grant("refresh_token", tokens.refresh_token)
        if self.seed is not None and doc.get("seed") != self.seed.fingerprint():
            return self.seed  # not used yet
        raise ProviderError(
            self.name,
            "not authorized: install the integration (its redirect reaches "
            "/v1/crm/amocrm/oauth) or put a new authorization_code in the settings",
            permanent=False,  # what waits for the authorization is not lost
            retry_after=300.0,
        )
