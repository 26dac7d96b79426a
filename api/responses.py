"""JSON responses encoded by orjson: for bodies we built ourselves and need not re-validate."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(body: Any, status_code: int = 200) -> OrjsonResponse:
    return OrjsonResponse(body, status_code=status_code)
