"""Local HTTP servers (127.0.0.1, ephemeral port) that speak the Anthropic Messages API and the
OpenAI chat-completions API, scripted per request: a reply, an HTTP error status, or a delay."""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    """Quiet handler with ``_send(code, payload)`` (JSON) and ``_send_raw(code, bytes)``."""

    def log_message(self, *args):
        pass

    def _send(self, code, payload, headers=None):
        self._send_raw(code, json.dumps(payload).encode(), headers)

    def _send_raw(self, code, data: bytes, headers=None):
        try:
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


class LocalServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 (``self.server``), served on a thread inside ``with``."""

    def _start_server(self, handler) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class ScriptedHTTPServer(LocalServer):
    """``script`` entries: ``("ok", text)``, ``("status", code)``, ``("sleep", seconds, text)``,
    ``("content", value)`` (the message content as given: a number, a list of parts, ...) or
    ``("garbage", bytes)`` (a 200 whose body is not JSON). When the script runs out, the server answers
    ``("ok", responder(body))`` when a responder is given, else ``("ok", default_text)``."""

    def __init__(self, flavor: str, default_text: str = "ok", responder=None):
        self.flavor = flavor
        self.default_text = default_text
        self.responder = responder  # body -> text, when the script has run out (instead of default_text)
        self.script: deque = deque()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.count_requests: list[dict] = []  # anthropic /v1/messages/count_tokens bodies
        self.batches: dict[str, dict] = {}  # anthropic Message Batches: id -> {"requests", "polls", "results"}
        outer = self

        class Handler(JsonHandler):
            def do_GET(self):
                parts = self.path.split("?")[0].rstrip("/").split("/")
                batch = outer.batches.get(parts[4]) if len(parts) > 4 else None
                if batch is None:
                    self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
                elif parts[-1] == "results":
                    lines = [json.dumps(r) for r in batch["results"]]
                    self._send_raw(200, ("\n".join(lines) + "\n").encode(), {"content-type": "application/binary"})
                else:
                    batch["polls"] += 1
                    self._send(200, outer._batch_object(parts[4], ended=batch["polls"] >= 1))

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/messages/count_tokens"):
                    outer.count_requests.append(body)
                    self._send(200, {"input_tokens": outer._chars(body) // 4})
                    return
                if self.path.endswith("/messages/batches"):
                    batch_id = f"msgbatch_{len(outer.batches)}"
                    outer.batches[batch_id] = {"requests": body["requests"], "polls": 0,
                                               "results": [outer._batch_result(r) for r in body["requests"]]}
                    self._send(200, outer._batch_object(batch_id, ended=False))
                    return
                outer.requests.append(body)
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                step = outer.script.popleft() if outer.script else (
                    "ok", outer.responder(body) if outer.responder else outer.default_text)
                if step[0] == "sleep":
                    time.sleep(step[1])
                    step = ("ok", step[2])
                if step[0] == "garbage":
                    self._send_raw(200, step[1])
                    return
                if step[0] == "content":
                    self._send(200, outer._reply(body, "", raw_content=step[1]))
                    return
                if step[0] == "status":
                    payload = {"type": "error", "error": {"type": "api_error", "message": f"scripted {step[1]}"}}
                    self._send(step[1], payload, {"retry-after-ms": "5", "retry-after": "0"})
                    return
                self._send(200, outer._reply(body, step[1]))

        self._start_server(Handler)

    @staticmethod
    def _chars(body: dict) -> int:
        def text(content):
            return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
        system = body.get("system") or ""
        return len(text(system)) + sum(len(text(m["content"])) for m in body.get("messages", []))

    def _batch_result(self, entry: dict) -> dict:
        """One request of a batch, answered by the next script step (a status becomes an errored result)."""
        step = self.script.popleft() if self.script else ("ok", self.default_text)
        if step[0] == "status":
            kind = {429: "rate_limit_error", 529: "overloaded_error", 400: "invalid_request_error"}.get(step[1], "api_error")
            return {"custom_id": entry["custom_id"], "result": {"type": "errored", "error": {
                "type": "error", "error": {"type": kind, "message": f"scripted {step[1]}"}}}}
        if step[0] == "expired":
            return {"custom_id": entry["custom_id"], "result": {"type": "expired"}}
        self.requests.append(entry["params"])
        return {"custom_id": entry["custom_id"], "result": {"type": "succeeded",
                                                            "message": self._reply(entry["params"], step[1])}}

    def _batch_object(self, batch_id: str, ended: bool) -> dict:
        results = self.batches[batch_id]["results"]
        counts = {k: 0 for k in ("processing", "succeeded", "errored", "canceled", "expired")}
        for r in results:
            counts[r["result"]["type"] if ended else "processing"] += 1
        return {"id": batch_id, "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
                "request_counts": counts, "created_at": "2026-11-23T00:00:00Z", "expires_at": "2026-11-24T00:00:00Z",
                "ended_at": "2026-11-23T00:01:00Z" if ended else None, "archived_at": None,
                "cancel_initiated_at": None,
                "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results" if ended else None}

    def _reply(self, body: dict, text: str, raw_content=None) -> dict:
        if self.flavor == "anthropic":
            system = body.get("system")
            blocks = (system if isinstance(system, list) else []) + [
                b for m in body.get("messages", []) if isinstance(m["content"], list) for b in m["content"]]
            cached = any("cache_control" in b for b in blocks)
            return {
                "id": f"msg_{len(self.requests)}", "type": "message", "role": "assistant",
                "model": body.get("model"),
                "content": [{"type": "text", "text": text}] if raw_content is None else raw_content,
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 2,
                          "cache_creation_input_tokens": 1000 if cached and len(self.requests) == 1 else 0,
                          "cache_read_input_tokens": 1000 if cached and len(self.requests) > 1 else 0},
            }
        return {"id": "c1", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": text if raw_content is None else raw_content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}


class FaultyAdderServer(LocalServer):
    """An OpenAI-compatible stand-in that answers "a + b" prompts with the sum, except that a share
    ``rate`` of requests (drawn from a seeded generator, in arrival order) fail: 429, 500, 529, a reply
    slower than the client's timeout, a non-JSON body, or non-string content. ``log`` keeps
    (prompt, outcome) per request, outcome ``"ok"`` or the fault's name."""

    FAULTS = ("429", "500", "529", "timeout", "garbage", "number_content")
    RETRYABLE = {"429", "500", "529", "timeout"}

    def __init__(self, rate: float = 0.2, seed: int = 0, slow_s: float = 0.5):
        import random
        self.rate, self.slow_s = rate, slow_s
        self.random = random.Random(seed)
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(JsonHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                prompt = body["messages"][-1]["content"]
                with outer.lock:
                    fault = outer.FAULTS[outer.random.randrange(len(outer.FAULTS))] \
                        if outer.random.random() < outer.rate else "ok"
                    outer.log.append((json.dumps(body["messages"]), fault))
                if fault in ("429", "500", "529"):
                    return self._send(int(fault), {"error": "scripted"}, {"retry-after": "0", "retry-after-ms": "5"})
                if fault == "timeout":
                    time.sleep(outer.slow_s)
                if fault == "garbage":
                    return self._send_raw(200, b"<html>502 upstream</html>")
                a, _, b = prompt.splitlines()[-1].partition(" + ")
                content = 12345 if fault == "number_content" else str(int(a) + int(b))
                payload = {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 5, "completion_tokens": 1}}
                self._send(200, payload)

        self._start_server(Handler)

    def unrecovered(self, max_retries: int, start: int = 0) -> int:
        """Logical calls (from log entry ``start`` on) whose every attempt failed: attempts of one prompt
        are grouped in order; a group ends on success, on a fault no client retries (malformed
        replies), or after ``max_retries + 1`` attempts. Valid with one request in flight at a time."""
        open_attempts: dict[str, int] = {}
        failed = 0
        for prompt, outcome in self.log[start:]:
            n = open_attempts.get(prompt, 0) + 1
            if outcome == "ok":
                open_attempts.pop(prompt, None)
            elif outcome not in self.RETRYABLE or n == max_retries + 1:
                failed += 1
                open_attempts.pop(prompt, None)
            else:
                open_attempts[prompt] = n
        return failed


def start_router(store_url: str, admin_token: str, *extra_args: str):
    """A real ``evo bandit serve`` process on a free 127.0.0.1 port: (base URL, process), once /healthz answers
    (200, or 503 for a store that answers but has no active arm yet)."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    evo_bin = Path(sys.executable).parent / "evo"
    proc = subprocess.Popen([str(evo_bin), "bandit", "serve", "--store", store_url, "--host", "127.0.0.1",
                             "--port", str(port), *extra_args], env={**os.environ, "EVO_BANDIT_ADMIN_TOKEN": admin_token},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            answer = httpx.get(base + "/healthz", timeout=1)
            if answer.status_code == 200 or answer.json().get("store") == "ok":
                return base, proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(proc.stderr.read().decode())
