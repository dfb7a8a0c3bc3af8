"""A fault-injecting OpenAI-compatible fake on 127.0.0.1, for the collection engine's tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    """An OpenAI-compatible fake whose replies follow a per-prompt script of faults.

    ``script[prompt]`` is a list of behaviours for successive requests carrying that prompt:
    "429", "500", "timeout", "truncated", "drop" or "ok". Past the end of the list the last
    behaviour repeats. An "ok" reply is made up here from the request ("echo: <prompt>"), so
    it is test data, not a model response. ``reflect_auth`` puts the Authorization header in
    the reply body, to prove that a leaked key is still redacted before it is written.
    ``reply(model, prompt)`` and ``reported_model(model)`` replace the echo and the reported
    model id, for tests that need replies of their own making.
    """

    def __init__(
        self,
        script: dict[str, list[str]],
        default: str = "ok",
        delay: float = 3.0,
        reflect_auth: bool = False,
        reply=None,
        reported_model=None,
    ):
        self.script, self.default, self.delay, self.reflect_auth = script, default, delay, reflect_auth
        self.reply = reply or (lambda model, prompt: f"echo: {prompt}")
        self.reported_model = reported_model or (lambda model: "fault-server")
        self.calls: dict[str, int] = {}
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
