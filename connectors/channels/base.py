"""The channel contract: send one message, and read what the provider says afterwards.

One module per provider implements it (`telegram.py`, `sms.py`, `smsc.py`, `email.py`,
`webhook.py`); `open_channel` picks one by the `kind` in its settings. Providers' errors
become `core.errors.ProviderError` with `permanent` (never retried: an invalid number) or
a `retry_after` (429, 5xx, timeouts) -- see `errors.py`.

Connectors log message ids and provider codes only: never an address or a text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from core.errors import ProviderError

if TYPE_CHECKING:
    from connectors.store import Store
    from core.clock import Clock


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    id: str  # idempotency key: same id => the provider must see it once
    customer_id: str
    channel: str  # "telegram" | "sms" | "email" | "webhook" | ...
    address: str  # E.164 phone, telegram chat id, email address, or webhook target
    text: str
    subject: str | None = None
    template: str | None = None  # for providers that only take approved templates
    params: Mapping[str, str] = field(default_factory=dict)
    locale: str = "ru"
    metadata: Mapping[str, str] = field(default_factory=dict)  # incident id, scenario...
    resend: bool = False  # an earlier request with this id may have reached the provider


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str | None


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """What a provider told us after the fact."""

    kind: Literal["delivered", "read", "failed", "reply"]
    message_id: str | None  # OUR OutboundMessage.id when the provider echoes it back
    provider_message_id: str | None
    address: str | None  # the sender, for replies (phone / chat id / email)
    text: str | None  # reply text
    at: float | None
    error: str | None = None
    permanent: bool = False


class CallbackRejected(Exception):
    """A callback whose signature or shape is wrong; the message says which."""


class Channel(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class StoreBound(Protocol):
    """A connector with state every worker must share (amoCRM's rotating OAuth tokens)."""

    def bind(self, store: Store, clock: Clock) -> None: ...

    async def keep_alive(self) -> None:
        """Called every few minutes: refresh what would otherwise expire unused."""
        ...


@runtime_checkable
class BatchChannel(Channel, Protocol):
    """A provider with a bulk endpoint: many messages in one request. An outage notice to
    100k customers is one text to many addresses; one HTTP round trip per message would
    cap a worker at what the HTTP client can do per request."""

    max_batch: int  # 1 means the bulk endpoint is not configured: use `send`

    async def send_many(
        self, messages: Sequence[OutboundMessage]
    ) -> list[SendResult | ProviderError]:
        """One result per message, in order; a refusal of the whole request is raised."""
        ...


_STOP_WORDS = frozenset({"стоп", "stop", "отписаться", "отписка", "отпишите", "unsubscribe"})
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
# People type "стоп" with a Latin "c", "o" or "p" on a mixed keyboard; read those as Cyrillic.
_TO_CYRILLIC = str.maketrans("aceopxkmtbh", "асеорхкмтвн")


def is_stop_word(text: str) -> bool:
    """The whole reply is a stop word ("СТОП!", "stop.", "/stop"), not merely contains one."""
    word = _EDGES.sub("", text).casefold()
    return word in _STOP_WORDS or word.translate(_TO_CYRILLIC) in _STOP_WORDS
