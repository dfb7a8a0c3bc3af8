"""The evidence report in a real headless Chromium: it renders, shows its figures, and loads nothing.

Chromium is driven three ways: ``--dump-dom`` (what the page is once parsed), ``--screenshot``
(what a reader sees) and the DevTools protocol over ``--remote-debugging-pipe`` (every request
the page itself starts, as ``Network.requestWillBeSent`` events of the page's own session, so
the browser's own background traffic to Google services cannot be mistaken for the page's, and
CSP-blocked attempts still count as attempts). Host names are mapped to nothing
(``--host-resolver-rules``) so even the self-test pages never reach the internet.

Without Chromium the tests skip with a message, unless ``CI`` is set: then they fail, because CI
must install it (``apt-get install -y chromium``).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from test_report import ANSWER_KINDS, VERDICT_LABELS, build_case_report

from forensics.notebook import load_case
from forensics.notebook.alpaca_case import ALPACA_CASE_DIR

pytestmark = pytest.mark.browser
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
PAGE_SCHEMES = ("file:", "data:")  # the report itself and its inline figures; anything else is external


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    message = "chromium is not installed (Debian: apt-get install -y chromium)"
    if _ci():
        pytest.fail(f"{message}; CI is set, so the real-browser checks must run")
    pytest.skip(f"{message}; set CI=true to make this a failure")


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def report(tmp_path_factory, chromium) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORENSICS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return build_case_report(tmp_path_factory.mktemp("browser-case"))


def _run(chromium: str, profile: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, timeout=timeout)


class DevTools:
    """Chromium with the DevTools protocol on fds 3 and 4 (``--remote-debugging-pipe``): no port, no socket."""

    def __init__(self, chromium: str, profile: Path):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # Lift both child ends above 3 and 4 so the dup2 below can never clobber one with the other.
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def wire_fds():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=wire_fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_r)
        os.close(child_w)
        self._buf, self._id, self.events = b"", 0, []

    def _recv(self, deadline: float) -> dict | None:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv(deadline)
            if reply is None:
                raise TimeoutError(f"no DevTools answer to {method} in {timeout}s")
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, method: str, session: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method and e.get("sessionId") == session for e in self.events):
            if self._recv(deadline) is None:
                raise TimeoutError(f"no {method} in {timeout}s")

    def settle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._recv(deadline) is not None:
            pass

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort; the process is killed below if needed
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


def load_page(chromium: str, profile: Path, url: str) -> dict:
    """Open ``url`` in a fresh tab; return the page's own requests, console/CSP log and figure sizes."""
    tools = DevTools(chromium, profile)
    try:
        target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable", session=session)
        tools.call("Page.navigate", {"url": url}, session=session)
        tools.wait_for("Page.loadEventFired", session)
        tools.settle(1.0)  # late requests (lazy images, CSS) would show up here
        # DevTools evaluation is not subject to the page's CSP, which forbids every page script.
        probe = tools.call(
            "Runtime.evaluate",
            {
                "returnByValue": True,
                "expression": """JSON.stringify({
            images: [...document.images].map(i => ({complete: i.complete,
                                                   natural: [i.naturalWidth, i.naturalHeight],
                                                   box: [i.getBoundingClientRect().width,
                                                         i.getBoundingClientRect().height]})),
            svgs: [...document.querySelectorAll('svg')].map(s => [s.getBoundingClientRect().width,
                                                                  s.getBoundingClientRect().height]),
            scripts: document.scripts.length,
            text: document.body ? document.body.innerText : ''})""",
            },
            session=session,
        )
        page = json.loads(probe["result"]["value"])
        mine = [e for e in tools.events if e.get("sessionId") == session]
        page["requests"] = [e["params"]["request"]["url"] for e in mine if e["method"] == "Network.requestWillBeSent"]
        page["log"] = [e["params"]["entry"] for e in mine if e["method"] == "Log.entryAdded"]
        page["exceptions"] = [e for e in mine if e["method"] == "Runtime.exceptionThrown"]
        return page
    finally:
        tools.close()


def external_requests(page: dict) -> list[str]:
    return [url for url in page["requests"] if not url.startswith(PAGE_SCHEMES)]


# ---------------------------------------------------------------------------------------------


def test_dump_dom_shows_verdicts_and_figures(chromium, report, tmp_path):
    proc = _run(chromium, tmp_path / "profile", "--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    soup = BeautifulSoup(proc.stdout.decode("utf-8"), "html.parser")
    banners = [b.get_text(" ", strip=True) for b in soup.select(".verdict .label")]
    assert banners and all(label in VERDICT_LABELS for label in banners), banners
    figures = [img for img in soup.find_all("img") if img.get("src", "").startswith("data:image/svg+xml;base64,")]
    assert len(figures) >= 2, "the findings' plots are missing from the rendered page"
    assert all(img.get("alt") for img in figures)
    assert soup.find("script") is None
    assert "Provenance" in soup.get_text() and "Limits of these findings" in soup.get_text()


def test_screenshot_is_not_blank(chromium, report, tmp_path):
    from PIL import Image

    png = tmp_path / "report.png"
    proc = _run(
        chromium,
        tmp_path / "profile",
        f"--screenshot={png}",
        "--window-size=1280,4000",
        "--hide-scrollbars",
        report.as_uri(),
    )
    assert png.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 4000)
    pixels = np.asarray(image.resize((128, 400))).reshape(-1, 3)
    ink = float((pixels.min(axis=1) < 200).mean())
    assert ink > 0.03, f"only {ink:.1%} of the screenshot is not near-white: blank page?"
    colours = len({tuple(p) for p in pixels.tolist()})
    assert colours > 50, "the screenshot has almost no distinct colours: nothing rendered?"


def test_report_loads_nothing_and_its_figures_render(chromium, report, tmp_path):
    page = load_page(chromium, tmp_path / "profile", report.as_uri())
    assert page["requests"] and page["requests"][0] == report.as_uri(), page["requests"][:3]
    assert external_requests(page) == []
    assert [e for e in page["log"] if e.get("source") == "security"] == [], "a CSP violation: something tried to load"
    assert page["scripts"] == 0 and page["exceptions"] == []
    assert len(page["images"]) >= 2
    for image in page["images"]:
        assert image["complete"] and min(image["natural"]) > 0, f"a figure did not decode: {image}"
        assert min(image["box"]) > 0, f"a figure is laid out with no size: {image}"
    assert any(label in page["text"] for label in VERDICT_LABELS)


def test_the_request_checker_can_fail(chromium, tmp_path):
    """Self-test: an external image is caught, blocked by CSP or not, and a clean page is clean."""
    from forensics.report import CSP

    plain = tmp_path / "external.html"
    plain.write_text(
        '<!DOCTYPE html><html><body><p>x</p><img src="https://example.com/x.png"></body></html>', encoding="utf-8"
    )
    guarded = tmp_path / "guarded.html"
    guarded.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        "<style>body { background: url(https://example.com/bg.png) }</style></head><body><p>x</p>"
        '<img src="https://example.com/x.png"></body></html>',
        encoding="utf-8",
    )
    clean = tmp_path / "clean.html"
    dot = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>').decode()
    clean.write_text(
        f'<!DOCTYPE html><html><body><p>x</p><img alt="dot" src="data:image/svg+xml;base64,{dot}"></body></html>',
        encoding="utf-8",
    )
    found = load_page(chromium, tmp_path / "p1", plain.as_uri())
    assert external_requests(found) == ["https://example.com/x.png"]
    blocked = load_page(chromium, tmp_path / "p2", guarded.as_uri())
    assert sorted(external_requests(blocked)) == ["https://example.com/bg.png", "https://example.com/x.png"]
    assert any(e.get("source") == "security" for e in blocked["log"]), "CSP did not block the external image"
    control = load_page(chromium, tmp_path / "p3", clean.as_uri())
    assert external_requests(control) == [] and control["images"][0]["natural"] == [4, 4]


SCREEN = (1280, 1024)  # one screenful of a laptop browser window
ANSWER_STARTS = tuple(kind.split(",")[0] for kind in ANSWER_KINDS)  # "vendor named: X, snapshot uncertain"


@pytest.fixture(scope="module")
def real_report(tmp_path_factory, chromium) -> Path:
    """The embedded real case's report, as `make demo` writes it (fewer prompt subsets, for time)."""
    from forensics.notebook import notebook_setup
    from forensics.notebook.alpaca_case import run_investigation

    notebook_setup()
    out = tmp_path_factory.mktemp("real-case")
    run_investigation(out_dir=out, sizes=(25,))
    return out / "report.html"


def test_real_case_answer_is_in_the_first_screenful_and_nothing_loads(chromium, real_report, tmp_path):
    tools = DevTools(chromium, tmp_path / "profile")
    try:
        target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            tools.call(f"{domain}.enable", session=session)
        width, height = SCREEN
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        tools.call("Page.navigate", {"url": real_report.as_uri()}, session=session)
        tools.wait_for("Page.loadEventFired", session)
        tools.settle(1.0)
        probe = tools.call(
            "Runtime.evaluate",
            {
                "returnByValue": True,
                "expression": """JSON.stringify({
            banners: [...document.querySelectorAll('#summary .verdict')].map(b => [b.innerText,
                       b.getBoundingClientRect().top, b.getBoundingClientRect().bottom]),
            heatmap: (i => i && [i.complete && i.naturalWidth > 0, i.getBoundingClientRect().top,
                                 i.getBoundingClientRect().bottom])(document.querySelector('#heatmap img')),
            height: window.innerHeight})""",
            },
            session=session,
        )
        shot = tools.call("Page.captureScreenshot", {"format": "png"}, session=session)
        requests = [
            e["params"]["request"]["url"]
            for e in tools.events
            if e.get("sessionId") == session and e["method"] == "Network.requestWillBeSent"
        ]
    finally:
        tools.close()
    out = Path(__file__).resolve().parents[1] / "out"
    out.mkdir(exist_ok=True)
    (out / "real_case_first_screen.png").write_bytes(base64.b64decode(shot["data"]))
    page = json.loads(probe["result"]["value"])
    assert page["height"] == height
    # one banner per suspect, each with its one answer (never a pair label beside it), all on the first screen
    assert len(page["banners"]) == len(load_case(ALPACA_CASE_DIR).suspects), page["banners"]
    for text, top, bottom in page["banners"]:
        lines = [line.strip() for line in text.splitlines() if line.strip()]  # <p> breaks come doubled
        assert lines[1].startswith(ANSWER_STARTS) and lines[2].startswith("Detail: test against"), text
        assert not any(label in text for label in VERDICT_LABELS), text
        assert 0 <= top and bottom <= height, (text, top, bottom)
    loaded, top, bottom = page["heatmap"]
    assert loaded and 0 <= top and bottom <= height, page["heatmap"]
    assert [u for u in requests if not u.startswith(PAGE_SCHEMES)] == []
