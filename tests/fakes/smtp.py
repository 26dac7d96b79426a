"""A real SMTP server on localhost (aiosmtpd) that records mail and refuses on demand."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from bench.servers import free_port


class FakeSmtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.mail: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # recipient -> the reply to RCPT TO
        self.refuse_data: str | None = None  # the reply to DATA, once
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(  # noqa: N802 -- aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_data is not None:
            reply, self.refuse_data = self.refuse_data, None
            return reply
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mail.append(parsed)
        return "250 2.0.0 Queued"

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
