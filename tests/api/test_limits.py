"""Body limits against a real uvicorn server on a local port, on both stores: a body over
the limit is refused with 413 in the project's error shape before it is fully sent, and
IVR calls made meanwhile are answered within their budget."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx

from bench.servers import BENCH_KEY
from tests.api.conftest import BATCH_LIMIT, BUDGET_MS, LIMIT

HUNDRED_MB = 100 * 1024 * 1024
# A megabyte of valid batch JSON: what a careless client might really stream.
EVENT = b'{"id":"e","type":"login","customer_id":"c","ts":"2026-11-18T10:00:00Z","data":{}},'
MEGABYTE = EVENT * (1024 * 1024 // len(EVENT))


class Upload:
    """A raw HTTP/1.1 upload that stops sending as soon as the server answers."""

    def __init__(self, url: str, path: str, *, content_length: int | None = None) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        framing = (
            f"Content-Length: {content_length}"
            if content_length is not None
            else "Transfer-Encoding: chunked"
        )
        self.chunked = content_length is None
        self.sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {BENCH_KEY}\r\nContent-Type: application/json\r\n"
                f"{framing}\r\n\r\n"
            ).encode()
        )
        self.sent = 0

    def answered(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def send(self, data: bytes) -> bool:
        """Send a piece of the body; False once the server has answered or hung up."""
        if self.answered():
            return False
        frame = b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data
        try:
            self.sock.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            return False
        self.sent += len(data)
        return True

    def stream(self, first: bytes, piece: bytes, total: int) -> None:
        """`first`, then `piece` again and again, up to `total` bytes or the answer."""
        if self.send(first):
            while self.sent < total and self.send(piece):
                pass

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The answer, waiting for it at most 10 s (only a hang takes that long)."""
        self.sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            more = self.sock.recv(65536)
            assert more, f"the connection closed before an answer: {data!r}"
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            more = self.sock.recv(65536)
            if not more:
                break
            body += more
        self.sock.close()
        return int(lines[0].split()[1]), headers, body


def assert_refused(status: int, headers: dict[str, str], body: bytes, limit: int) -> None:
    assert status == 413, body
    answer = json.loads(body)
    assert answer["error"] == "payload_too_large" and answer["field"] == "body"
    assert str(limit) in answer["reason"]
    assert headers["connection"] == "close"


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    served: str,
) -> None:
    upload = Upload(served, "/v1/events", content_length=HUNDRED_MB)
    upload.send(MEGABYTE[:65536])  # sent unless the answer is already there
    # The answer comes while 99.9% of the body is still unsent.
    assert_refused(*upload.response(), BATCH_LIMIT)
    assert upload.sent <= 65536


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(served: str) -> None:
    upload = Upload(served, "/v1/inbound")
    upload.stream(b'{"channel": "ivr", "call_id": "c1", "utterance": "', b"a" * 65536, HUNDRED_MB)
    assert_refused(*upload.response(), LIMIT)
    # Socket buffers hold a few megabytes at most; the body was nowhere near sent.
    assert upload.sent < HUNDRED_MB / 4

    batch = Upload(served, "/v1/events")
    batch.stream(b'{"events": [', MEGABYTE, HUNDRED_MB)
    assert_refused(*batch.response(), BATCH_LIMIT)
    assert BATCH_LIMIT < batch.sent < HUNDRED_MB / 4


def test_ivr_calls_are_answered_in_budget_while_big_bodies_stream_in(served: str) -> None:
    uploads = [Upload(served, "/v1/events") for _ in range(3)]
    threads = [
        threading.Thread(target=u.stream, args=(b'{"events": [', MEGABYTE, HUNDRED_MB))
        for u in uploads
    ]
    for thread in threads:
        thread.start()
    waits = []
    with httpx.Client(base_url=served, headers={"Authorization": f"Bearer {BENCH_KEY}"}) as ivr:
        for i in range(20):
            started = time.perf_counter()
            answer = ivr.post("/v1/inbound", json={"channel": "ivr", "call_id": f"call-{i}"})
            waits.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    for thread in threads:
        thread.join(timeout=60)
    for upload in uploads:
        assert_refused(*upload.response(), BATCH_LIMIT)
    # Relative to the IVR's own budget: an answer may be degraded, never late.
    assert max(waits) < 4 * BUDGET_MS / 1000, waits
