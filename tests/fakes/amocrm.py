"""An amoCRM account: OAuth 2.0 with rotating refresh tokens, and the API v4 methods we
use, with amoCRM's answers (https://www.amocrm.ru/developers/content/crm_platform/...):

    POST /oauth2/access_token          authorization_code | refresh_token -> a new pair;
                                       a used or unknown grant -> 400 invalid_grant
    GET  /api/v4/contacts/{id}         the contact, or 204 with no body
    GET  /api/v4/leads/{id}            the lead; `_embedded.contacts` only ?with=contacts
    POST /api/v4/contacts/{id}/notes   [{"note_type": "common", "params": {"text"}}]
    POST /api/v4/tasks                 [{"text", "complete_till", "entity_id", "entity_type"}]
    a missing or old bearer token      -> 401
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import orjson

from tests.fakes.providers import FakeHttp, Reply

CLIENT_ID = "0f3c6e2a-5b1d-4c8e-9a7f-2d4b6e8a1c3f"
CLIENT_SECRET = "Zm9yZWNhbGwtdGVzdC1jbGllbnQtc2VjcmV0LWZvci1hbW8"
PROBLEM = "https://httpstatus.es/"


def problem(status: int, title: str, detail: str, **extra: Any) -> Reply:
    body = {"title": title, "type": f"{PROBLEM}{status}", "status": status, "detail": detail}
    return status, {"content-type": "application/problem+json"}, orjson.dumps({**body, **extra})


class FakeAmoCrm(FakeHttp):
    query_in_path = True

    def __init__(self, expires_in: int = 86400) -> None:
        super().__init__()
        self.expires_in = expires_in
        self.codes: set[str] = set()  # authorization codes not used yet
        self.refresh_tokens: set[str] = set()  # valid (each works once)
        self.access_tokens: set[str] = set()
        self.exchanges: list[str] = []  # grant types, in order
        self.contacts: dict[int, dict[str, Any]] = {}
        self.leads: dict[int, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []  # with "contact_id"
        self.tasks: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)

    def issue_code(self, code: str = "def50200a1b2c3") -> str:
        self.codes.add(code)
        return code

    def revoke_access(self) -> None:
        """Access tokens stop working before their time (the user re-installed...)."""
        self.access_tokens.clear()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        route, _, query = path.partition("?")
        if route == "/oauth2/access_token":
            return self._token(orjson.loads(body))
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return problem(401, "Unauthorized", "Неверный или устаревший токен")
        self.requests.append({"method": method, "path": route, "query": query})
        if method == "GET" and (m := re.fullmatch(r"/api/v4/contacts/(\d+)", route)):
            contact = self.contacts.get(int(m[1]))
            return (200, {}, orjson.dumps(contact)) if contact else (204, {}, b"")
        if method == "GET" and (m := re.fullmatch(r"/api/v4/leads/(\d+)", route)):
            lead = self.leads.get(int(m[1]))
            if lead is None:
                return 204, {}, b""
            contacts = lead.get("contacts", [])
            shown = {k: v for k, v in lead.items() if k != "contacts"}
            if "with=contacts" in query:
                shown["_embedded"] = {"contacts": contacts}
            return 200, {}, orjson.dumps(shown)
        if method == "POST" and (m := re.fullmatch(r"/api/v4/contacts/(\d+)/notes", route)):
            return self._notes(int(m[1]), orjson.loads(body))
        if method == "POST" and route == "/api/v4/tasks":
            return self._tasks(orjson.loads(body))
        return problem(404, "Not Found", "Метод не найден")

    def _token(self, form: dict[str, Any]) -> Reply:
        grant = form.get("grant_type")
        self.exchanges.append(str(grant))
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return problem(401, "Unauthorized", "Client authentication failed", hint="")
        if grant == "authorization_code" and form.get("code") in self.codes:
            self.codes.discard(form["code"])
        elif grant == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            self.refresh_tokens.discard(form["refresh_token"])  # rotation: once only
        else:
            hint = "Token has been revoked" if grant == "refresh_token" else "Code not found"
            return problem(400, "Bad Request", "invalid_grant", hint=hint)
        n = next(self._ids)
        access, refresh = f"acc-{n}-eyJ0eXAiOiJKV1Qi", f"ref-{n}-def50200"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return (
            200,
            {},
            orjson.dumps(
                {
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "access_token": access,
                    "refresh_token": refresh,
                }
            ),
        )

    def _notes(self, contact_id: int, notes: Any) -> Reply:
        if contact_id not in self.contacts:
            return problem(404, "Not Found", "Entity not found")
        ok = isinstance(notes, list) and all(
            isinstance(n, dict)
            and n.get("note_type") == "common"
            and isinstance(n.get("params", {}).get("text"), str)
            for n in notes
        )
        if not ok:
            return self._invalid("0.params.text", "This value should not be blank.")
        created = []
        for note in notes:
            note_id = next(self._ids)
            self.notes.append({**note, "id": note_id, "contact_id": contact_id})
            created.append({"id": note_id, "entity_id": contact_id, "request_id": "0"})
        return 200, {}, orjson.dumps({"_embedded": {"notes": created}})

    def _tasks(self, tasks: Any) -> Reply:
        for task in tasks if isinstance(tasks, list) else [None]:
            if not isinstance(task, dict) or not isinstance(task.get("complete_till"), int):
                return self._invalid("0.complete_till", "This value should be of type int.")
            if task.get("entity_type") not in ("leads", "contacts", "companies", "customers"):
                return self._invalid("0.entity_type", "The value you selected is not valid.")
            if not task.get("text"):
                return self._invalid("0.text", "This value should not be blank.")
        created = []
        for task in tasks:
            task_id = next(self._ids)
            self.tasks.append({**task, "id": task_id})
            created.append({"id": task_id, "request_id": task.get("request_id", "0")})
        return 200, {}, orjson.dumps({"_embedded": {"tasks": created}})

    def _invalid(self, path: str, detail: str) -> Reply:
        errors = [
            {
                "request_id": "0",
                "errors": [{"code": "NotSupportedChoice", "path": path, "detail": detail}],
            }
        ]
        return problem(
            400, "Bad Request", "Request validation failed", **{"validation-errors": errors}
        )
