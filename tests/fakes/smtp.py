"""A real SMTP server on localhost (aiosmtpd) that records mail and refuses on demand."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bench.servers import free_port


class FakeSmtp:
    """`login=(user, password)` makes it offer AUTH (without TLS: this is loopback) and
    answer a wrong password with 535, as a real submission server does. AUTH is not
    required (aiosmtpd warns about requiring it without TLS); `logins` shows it was used."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.mail: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # recipient -> the reply to RCPT TO
        self.refuse_data: str | None = None  # the reply to DATA, once
        self.login = login
        self.logins: list[str] = []  # users that authenticated
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate if login else None,
            auth_require_tls=False,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.login is None:
            return AuthResult(success=False, handled=False)
        given = (auth_data.login.decode(), auth_data.password.decode())
        if given != self.login:
            return AuthResult(success=False, handled=False)
        self.logins.append(given[0])
        return AuthResult(success=True)

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
