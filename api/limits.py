"""Request bodies over a limit are refused with 413 before they are read.

A pure ASGI middleware: a `Content-Length` over the limit is answered at once, before
the route runs; a body that streams past the limit (chunked, or longer than it said) is
cut off at the first chunk over it. The rest is never read: the answer carries
`Connection: close`, so the server drops the connection instead of draining it, and a
100 MB upload costs us no more than the limit, never stalls the event loop and never
delays another request.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.responses import OrjsonResponse


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the streamed bytes pass the limit: the route's body
    parsing lets an HTTPException through, and the app's handler answers it in our shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit), headers={"Connection": "close"})
        self.limit = limit


def too_large(limit: int) -> str:
    return f"the body is larger than {limit} bytes, the limit of this route"


def refusal(limit: int) -> OrjsonResponse:
    message = too_large(limit)
    return OrjsonResponse(
        error_body(413, f"body: {message}", "body", message),
        status_code=413,
        headers={"Connection": "close"},
    )


class BodyLimit:
    """`limit` bytes for any body; `routes` maps a path prefix to its own limit (the
    longest matching prefix wins), e.g. a larger one for batch ingest."""

    def __init__(self, app: ASGIApp, limit: int, routes: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.routes if path.startswith(prefix)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await refusal(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as exc:  # read outside a route's body parsing (a mount)
            if started:
                raise
            await refusal(exc.limit)(scope, receive, send)
