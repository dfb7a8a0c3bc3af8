"""Fakes on 127.0.0.1 speaking the OpenAI and Anthropic wire formats, and a probe-set helper, for the tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from forensics.probes import load_probe_set


def write_probes(path, prompts):
    """A probe set whose prompts are the given strings (each its own id), written and loaded."""
    entries = "\n".join(
        f"  - id: {p}\n    family: style\n    prompt: {json.dumps(p)}\n    language: en\n    tags: [test]"
        for p in prompts
    )
    path.write_text(f"name: test\ndescription: made by the test\nprobes:\n{entries}\n", encoding="utf-8")
    return load_probe_set(path)


class FaultServer:
    """An OpenAI-compatible fake whose replies follow a per-prompt script of faults.

    ``script[prompt]`` is a list of behaviours for successive requests carrying that prompt:
    "429", "500", "timeout", "truncated", "drop" or "ok". Past the end of the list the last
    behaviour repeats. An "ok" reply is made up here from the request ("echo: <prompt>"), so
    it is test data, not a model response. ``reflect_auth`` puts the Authorization header in
    the reply body, to prove that a leaked key is still redacted before it is written.
    ``reply(model, prompt)`` and ``reported_model(model)`` replace the echo and the reported
    model id, for tests that need replies of their own making; ``body(model, prompt)``
    replaces the whole reply body (bytes, sent as they are: bare NaN, deep nesting, escapes).
    A "400" behaviour answers with an error that echoes the Authorization header, as some
    servers do. ``requests`` keeps every request body received.
    """

    def __init__(
        self,
        script: dict[str, list[str]],
        default: str = "ok",
        delay: float = 3.0,
        reflect_auth: bool = False,
        reply=None,
        reported_model=None,
        body=None,
    ):
        self.script, self.default, self.delay, self.reflect_auth = script, default, delay, reflect_auth
        self.reply = reply or (lambda model, prompt: f"echo: {prompt}")
        self.reported_model = reported_model or (lambda model: "fault-server")
        self.body = body
        self.calls: dict[str, int] = {}
        self.requests: list[dict] = []
        self.auth_headers: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                auth = self.headers.get("Authorization", "")
                with server._lock:
                    n = server.calls.get(prompt, 0)
                    server.calls[prompt] = n + 1
                    server.auth_headers.append(auth)
                    server.requests.append(body)
                plan = server.script.get(prompt, [server.default])
                behaviour = plan[min(n, len(plan) - 1)]
                if behaviour == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.connection.close()
                    return
                if behaviour == "timeout":
                    time.sleep(server.delay)
                if behaviour in ("429", "500"):
                    self._send(int(behaviour), json.dumps({"error": {"message": f"injected {behaviour}"}}).encode())
                    return
                if behaviour == "400":
                    self._send(400, json.dumps({"error": {"message": f"invalid key: {auth}"}}).encode())
                    return
                if server.body is not None:
                    self._send(200, server.body(body["model"], prompt))
                    return
                text = server.reply(body["model"], prompt) + (f" auth={auth}" if server.reflect_auth else "")
                payload = json.dumps(
                    {
                        "id": "fake",
                        "object": "chat.completion",
                        "model": server.reported_model(body["model"]),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )
                data = payload.encode()
                self._send(200, data[: len(data) // 2] if behaviour == "truncated" else data)

            def _send(self, status, data):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class AnthropicServer:
    """A fake speaking Anthropic's Messages wire format on 127.0.0.1, for the real ``anthropic`` SDK.

    The reply text is made up here from the request ("echo: <prompt>"): test data, not a model
    response. ``requests`` and ``headers`` keep what the SDK actually sent.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/messages":
                    self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
                    return
                prompt = body["messages"][-1]["content"]
                self._send(
                    200,
                    {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"] + "-served",
                        "content": [{"type": "text", "text": f"echo: {prompt}"}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": 1, "output_tokens": 2},
                    },
                )

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
