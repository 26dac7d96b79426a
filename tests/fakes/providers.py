"""Local servers that speak providers' documented HTTP APIs, their error replies included.

Each runs for real on 127.0.0.1 (uvicorn in a thread), records what it was sent, and
answers like the provider: the Telegram Bot API's sendMessage, a generic SMS gateway, and
SMSC.ru's send.php. `fail_next(...)` queues the provider's documented refusals.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson

from bench.servers import read_body
from tests.fakes.server import LocalServer

Reply = tuple[int, dict[str, str], bytes]


class FakeHttp(LocalServer):
    """The server; subclasses answer in `handle`."""

    query_in_path = False  # hand `handle` "/path?query" rather than "/path"
    delay = 0.0  # seconds between handling a request and answering it

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[dict[str, Any]] = []
        self._failures: list[Reply] = []
        self._lock = threading.Lock()

    def fail_next(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        with self._lock:
            self._failures.append((status, headers or {}, orjson.dumps(body)))

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        raise NotImplementedError

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            path = scope["path"]
            if self.query_in_path and scope.get("query_string"):
                path += "?" + scope["query_string"].decode()
            if failure is None:
                status, extra, reply = self.handle(scope["method"], path, headers, body)
            else:
                status, extra, reply = failure
                self.requests.append({"path": scope["path"], "refused": status})
        if self.delay:
            await asyncio.sleep(self.delay)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    *((k.encode(), v.encode()) for k, v in extra.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})


def _form(headers: dict[str, str], body: bytes) -> dict[str, str]:
    if "json" in headers.get("content-type", ""):
        data: dict[str, Any] = orjson.loads(body)
        return {k: str(v) for k, v in data.items()}
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


class FakeTelegram(FakeHttp):
    """POST /bot<token>/sendMessage as in https://core.telegram.org/bots/api#sendmessage."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.blocked: set[str] = set()  # chats whose user blocked the bot

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path != f"/bot{self.token}/sendMessage":
            return (
                401,
                {},
                orjson.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}),
            )
        payload = orjson.loads(body)
        self.requests.append({"path": path, **payload})
        chat = str(payload.get("chat_id", ""))
        if chat in self.blocked:
            return (
                403,
                {},
                orjson.dumps(
                    {
                        "ok": False,
                        "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user",
                    }
                ),
            )
        if not chat.lstrip("-").isdigit():
            return (
                400,
                {},
                orjson.dumps(
                    {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
                ),
            )
        self.sent.append(payload)
        result = {
            "message_id": len(self.sent),
            "date": int(time.time()),
            "chat": {"id": int(chat), "type": "private"},
            "text": payload["text"],
        }
        return 200, {}, orjson.dumps({"ok": True, "result": result})


class FakeSmsGateway(FakeHttp):
    """A generic gateway: form POST phone/text/sender/client_id, JSON answer
    {"id": ...} or {"error_code": ..., "error": ...}; it dedupes by client_id."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, dict[str, str]] = {}
        self.invalid: set[str] = set()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        form = _form(headers, body)
        self.requests.append({"path": path, **form})
        if headers.get("authorization") != "Bearer gateway-key":
            return 401, {}, orjson.dumps({"error_code": "auth", "error": "bad key"})
        if form.get("phone") in self.invalid:
            return 400, {}, orjson.dumps({"error_code": "invalid_number", "error": "bad phone"})
        key = form.get("client_id", "")
        self.sent.setdefault(key, form)
        return 200, {}, orjson.dumps({"id": f"gw-{key}", "status": "queued"})


class FakeSmsc(FakeHttp):
    """SMSC.ru's POST /sys/send.php (https://smsc.ru/api/http/send/) with fmt=3.

    As documented, `id` is the client's and "not necessarily unique": SMSC does not dedupe
    by it. What it refuses is the same send request again within a minute (error 9);
    after that the same request is a second SMS. `delivered` lists every SMS sent, by id."""

    duplicate_window = 60.0  # seconds during which an identical request is refused

    def __init__(self, login: str, password: str) -> None:
        super().__init__()
        self.login, self.password = login, password
        self.sent: dict[str, dict[str, str]] = {}
        self.delivered: list[str] = []
        self.balance_empty = False
        self._recent: dict[tuple[tuple[str, str], ...], float] = {}

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        form = _form(headers, body)
        self.requests.append({"path": path, **form})

        def error(code: int, text: str) -> Reply:
            # SMSC answers errors with HTTP 200 and the code in the body.
            return 200, {}, orjson.dumps({"error": text, "error_code": code})

        if path != "/sys/send.php" or form.get("fmt") != "3":
            return error(1, "parameters error")
        if (form.get("login"), form.get("psw")) != (self.login, self.password):
            return error(2, "authorise error")
        if self.balance_empty:
            return error(3, "no money")
        phone = form.get("phones", "")
        if not phone.lstrip("+").isdigit() or len(phone.lstrip("+")) < 11:
            return error(7, "invalid phone")
        request = tuple(sorted(form.items()))
        now = time.monotonic()
        if now - self._recent.get(request, -1e9) < self.duplicate_window:
            return error(9, "duplicate request, wait a minute")
        self._recent[request] = now
        key = form.get("id", "")
        self.sent[key] = form
        self.delivered.append(key)
        return 200, {}, orjson.dumps({"id": key, "cnt": 1})


class FakeWhatsApp(FakeHttp):
    """The Cloud API's POST /{version}/{phone_number_id}/messages with Meta's error shape."""

    def __init__(self, token: str, phone_number_id: str) -> None:
        super().__init__()
        self.token, self.phone_number_id = token, phone_number_id
        self.sent: list[dict[str, Any]] = []
        self.window_open: set[str] = set()  # numbers that wrote to us in the last 24 h

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        def error(status: int, code: int, message: str) -> Reply:
            payload = {"error": {"message": message, "type": "OAuthException", "code": code}}
            return status, {}, orjson.dumps(payload)

        if headers.get("authorization") != f"Bearer {self.token}":
            return error(401, 190, "Error validating access token: Session has expired")
        if not path.endswith(f"/{self.phone_number_id}/messages"):
            return error(400, 100, "Unsupported post request")
        payload = orjson.loads(body)
        self.requests.append({"path": path, **payload})
        if payload.get("type") == "text" and payload["to"] not in self.window_open:
            return error(400, 131047, "Re-engagement message")
        self.sent.append(payload)
        wamid = f"wamid.{len(self.sent)}"
        reply = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
            "messages": [{"id": wamid}],
        }
        return 200, {}, orjson.dumps(reply)


class FakeViber(FakeHttp):
    """Viber's POST /pa/send_message: HTTP 200 always, the outcome in `status`."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.unsubscribed: set[str] = set()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        def status(code: int, message: str, **extra: Any) -> Reply:
            return 200, {}, orjson.dumps({"status": code, "status_message": message, **extra})

        if headers.get("x-viber-auth-token") != self.token:
            return status(2, "invalidAuthToken")
        payload = orjson.loads(body)
        self.requests.append({"path": path, **payload})
        if payload.get("receiver") in self.unsubscribed:
            return status(6, "receiverNotSubscribed")
        self.sent.append(payload)
        return status(0, "ok", message_token=5000 + len(self.sent))


class FakeFcm(FakeHttp):
    """Google's token endpoint (JWT bearer grant, RS256 checked with the public key) and
    FCM's POST /v1/projects/{project}/messages:send with its error shape."""

    def __init__(self, project: str, public_key: str) -> None:
        super().__init__()
        self.project, self.public_key = project, public_key
        self.token_requests = 0
        self.issued: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.unregistered: set[str] = set()
        # What each device shows: a notification whose Android `tag` (or APNs collapse id)
        # is already shown replaces it, as the platforms do; one without adds another.
        self.shown: dict[str, dict[str, dict[str, Any]]] = {}

    def revoke_tokens(self) -> None:
        self.issued.clear()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        import jwt

        if path == "/token":
            form = _form(headers, body)
            self.token_requests += 1
            try:
                claims = jwt.decode(
                    form.get("assertion", ""),
                    self.public_key,
                    algorithms=["RS256"],
                    audience=f"{self.url}/token",
                )
            except jwt.PyJWTError as exc:
                return (
                    400,
                    {},
                    orjson.dumps({"error": "invalid_grant", "error_description": str(exc)}),
                )
            assert claims["scope"].endswith("firebase.messaging")
            token = f"ya29.token-{self.token_requests}"
            self.issued.add(token)
            return (
                200,
                {},
                orjson.dumps({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
            )
        if path != f"/v1/projects/{self.project}/messages:send":
            return 404, {}, b"{}"
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.issued:
            error = {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }
            return 401, {}, orjson.dumps({"error": error})
        try:
            message = orjson.loads(body)["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            # A request cut short (its sender was killed mid-write) is not a message.
            error = {"code": 400, "message": "Invalid JSON payload", "status": "INVALID_ARGUMENT"}
            return 400, {}, orjson.dumps({"error": error})
        if message["token"] in self.unregistered:
            error = {
                "code": 404,
                "message": "Requested entity was not found.",
                "status": "NOT_FOUND",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                        "errorCode": "UNREGISTERED",
                    }
                ],
            }
            return 404, {}, orjson.dumps({"error": error})
        self.sent.append(message)
        tag = (message.get("android") or {}).get("notification", {}).get("tag") or (
            (message.get("apns") or {}).get("headers", {}).get("apns-collapse-id")
        )
        name = f"projects/{self.project}/messages/{len(self.sent)}"
        self.shown.setdefault(message["token"], {})[tag or name] = message
        return 200, {}, orjson.dumps({"name": name})


class FakeBitrix24(FakeHttp):
    """A portal's REST API behind an inbound webhook URL (/rest/<user>/<code>/<method>.json):
    crm.contact.get, crm.deal.get, crm.timeline.comment.add, crm.activity.todo.add, with
    Bitrix24's error shape."""

    def __init__(self, code: str = "k3y0fth3w3bh00k") -> None:
        super().__init__()
        self.webhook_url = f"{self.url}/rest/1/{code}/"
        self.prefix = f"/rest/1/{code}/"
        self.contacts: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        self.todos: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        def error(status: int, code: str, text: str) -> Reply:
            return status, {}, orjson.dumps({"error": code, "error_description": text})

        if not path.startswith(self.prefix):
            return error(401, "INVALID_CREDENTIALS", "Invalid request credentials")
        name = path[len(self.prefix) :].removesuffix(".json")
        params = orjson.loads(body) if body else {}
        self.requests.append({"method": name, **params})
        if name in ("crm.contact.get", "crm.deal.get"):
            table = self.contacts if name == "crm.contact.get" else self.deals
            found = table.get(int(params.get("id", 0)))
            if found is None:
                return error(400, "ERROR_NOT_FOUND", "Not found")
            return 200, {}, orjson.dumps({"result": found, "time": {}})
        if name == "crm.timeline.comment.add":
            self.comments.append(params["fields"])
            return 200, {}, orjson.dumps({"result": len(self.comments), "time": {}})
        if name == "crm.activity.todo.add":
            if params.get("ownerTypeId") != 3 or not isinstance(params.get("ownerId"), int):
                return error(400, "ERROR_WRONG_OWNER", "Owner not found")
            if "T" not in str(params.get("deadline", "")):
                return error(400, "ERROR_WRONG_DEADLINE", "Deadline is invalid")
            self.todos.append(params)
            return 200, {}, orjson.dumps({"result": {"id": 500 + len(self.todos)}, "time": {}})
        return error(400, "ERROR_METHOD_NOT_FOUND", "Method not found!")
