"""The stored form of a profile: small, because a Redis-resident customer must fit in 1 KB.

    profile = uint16 length + packed JSON state (core.compression) + fingerprints

A fingerprint is 8 bytes: the event's day (uint16, days since 2020-01-01; the high bit
set for short-lived entries) and 48 bits of its id's hash, enough that a false "already
seen" among one customer's events is a one-in-10^8 event.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import orjson

from core.compression import Packer

DAY0 = 18262  # 2020-01-01 as days since the Unix epoch
SHORT_LIVED = 0x8000


@cache
def _packer() -> Packer:
    return Packer("profile")


def day_of(ts: float) -> int:
    return int(ts // 86400) - DAY0


def fingerprint(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode(), digest_size=6).digest()


class Seen:
    """The fingerprints of events already applied: raw bytes, a set built on first look."""

    __slots__ = ("raw", "_hashes")

    def __init__(self, raw: bytes = b"") -> None:
        self.raw = bytearray(raw)
        self._hashes: set[bytes] | None = None

    def __contains__(self, fp: bytes) -> bool:
        if self._hashes is None:
            raw = self.raw
            self._hashes = {bytes(raw[i + 2 : i + 8]) for i in range(0, len(raw), 8)}
        return fp in self._hashes

    def __len__(self) -> int:
        return len(self.raw) // 8

    def add(self, fp: bytes, day: int, short_lived: bool) -> None:
        self.raw += (day | SHORT_LIVED if short_lived else day).to_bytes(2, "little") + fp
        if self._hashes is not None:
            self._hashes.add(fp)

    def prune(self, keep_from: int, keep_short_from: int) -> None:
        """Forget entries dated before `keep_from` (short-lived: `keep_short_from`)."""
        raw, kept = self.raw, bytearray()
        for i in range(0, len(raw), 8):
            day = raw[i] | raw[i + 1] << 8
            short = day & SHORT_LIVED
            if (day & ~SHORT_LIVED) >= (keep_short_from if short else keep_from):
                kept += raw[i : i + 8]
        self.raw, self._hashes = kept, None


def encode(state: dict[str, Any], seen: Seen) -> bytes:
    body = _packer().pack(orjson.dumps(state))
    return len(body).to_bytes(2, "little") + body + bytes(seen.raw)


def decode(blob: bytes | None) -> tuple[dict[str, Any], Seen]:
    """The state and the fingerprints of events already applied."""
    if not blob:
        return {}, Seen()
    end = 2 + int.from_bytes(blob[:2], "little")
    return _state(blob, end), Seen(blob[end:])


def decode_state(blob: bytes | None) -> dict[str, Any]:
    """Only the state: what reads need (the fingerprints matter only to writes)."""
    if not blob:
        return {}
    return _state(blob, 2 + int.from_bytes(blob[:2], "little"))


def _state(blob: bytes, end: int) -> dict[str, Any]:
    state: dict[str, Any] = orjson.loads(_packer().unpack(blob[2:end]))
    return state
