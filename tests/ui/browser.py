"""Headless Chromium for the UI tests and the README screenshots: find it (installing Debian's
`chromium` package with apt when it is missing and we are root), start it, and drive one
page over the DevTools protocol (CDP) with the `websockets` client that dagster-webserver
already installs. No Playwright, no Selenium."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
APT_TIMEOUT_S = 600


class ChromiumUnavailable(RuntimeError):
    """Chromium is not installed and could not be installed (the message says why)."""


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def ensure_chromium(log=print) -> str:
    """The path of a Chromium binary; installs Debian's `chromium` with apt-get when none is
    found. Raises ChromiumUnavailable with the reason when that is impossible (not root, no
    apt, no network...)."""
    found = find_chromium()
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise ChromiumUnavailable(
            "chromium is not installed and there is no apt-get to install it (install Chromium, or set CHROMIUM=/path/to/chrome)"
        )
    sudo: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
            sudo = ["sudo", "-n"]
        else:
            raise ChromiumUnavailable(
                "chromium is not installed, and installing it needs root: run `apt-get install -y chromium` as root"
            )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log("chromium not found: installing Debian's chromium package with apt-get (one-off, about a minute)")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ):
        try:
            res = subprocess.run(sudo + cmd, capture_output=True, text=True, env=env, timeout=APT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ChromiumUnavailable(f"`{' '.join(cmd)}` timed out after {APT_TIMEOUT_S} s (no network?)") from None
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
            raise ChromiumUnavailable(
                f"`{' '.join(cmd)}` failed (no network or no package source?): {' | '.join(tail)}"
            )
    found = find_chromium()
    if not found:
        raise ChromiumUnavailable("apt-get installed chromium, but no chromium binary is on PATH")
    return found


def _get_json(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class Browser:
    """One headless Chromium with one page, driven over CDP. Use as a context manager."""

    def __init__(self, binary: str, width: int = 1600, height: int = 1000, startup_timeout: float = 30):
        self.width, self.height = width, height
        self._exit = contextlib.ExitStack()
        # Chromium's helper processes may still be flushing the profile while it is removed.
        self._profile = tempfile.TemporaryDirectory(prefix="servicelens-chromium-", ignore_cleanup_errors=True)
        # Chromium logs (D-Bus noise on servers) go to a file: an unread pipe could fill and stall it.
        self._log = tempfile.TemporaryFile()
        args = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--mute-audio",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        # Its own session, so that closing it ends its renderer and helper processes too.
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        try:
            self._connect(startup_timeout)
        except BaseException:
            self.close()
            raise

    def _connect(self, startup_timeout: float) -> None:
        from websockets.sync.client import connect

        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + startup_timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self._proc.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(
                    f"chromium exited with {self._proc.returncode}: {self._log.read().decode(errors='replace')[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not open its DevTools port within {startup_timeout} s")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in _get_json(f"http://127.0.0.1:{port}/json/list") if t["type"] == "page"]
        self._ws = self._exit.enter_context(connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
        self._id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.resize(self.width, self.height)

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self._id += 1
        msg_id = self._id
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"CDP {method}: {msg['error']}")
                return msg.get("result", {})

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def goto(self, url: str, timeout: float = 30) -> None:
        """Navigate and wait for the document to load (the app then renders client-side)."""
        res = self.send("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise RuntimeError(f"cannot open {url}: {res['errorText']}")
        target = json.dumps(url.split("#")[0])
        if not self.wait_for(f"location.href.startsWith({target}) && document.readyState === 'complete'", timeout):
            raise RuntimeError(f"{url} did not finish loading within {timeout} s")

    def evaluate(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"JS error in {expression[:80]!r}: {res['exceptionDetails'].get('text')}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.25):
        """Poll a JS expression until it is truthy; returns its value, or the last value on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is between documents, or not rendered yet
                value = None
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def click(self, element_js: str, timeout: float = 10) -> None:
        """Click, with a real mouse event at its centre, the element a JS expression returns,
        once it exists, has a size and has stopped moving (the app shifts while it loads). An
        element below the fold is scrolled into view first: a mouse event lands only in the viewport."""
        where = (
            f"(() => {{ const e = ({element_js}); if (!e) return null; let r = e.getBoundingClientRect(); "
            "if (r.bottom > window.innerHeight || r.top < 0) { e.scrollIntoView({block: 'center'}); "
            "r = e.getBoundingClientRect(); } "
            "return r.width && r.height ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()"
        )
        deadline = time.monotonic() + timeout
        last = None
        while True:
            rect = self.wait_for(where, max(0.1, deadline - time.monotonic()))
            if rect and rect == last:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing (steady) to click: {element_js}")
            last = rect
            time.sleep(0.3)
        x, y = rect
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._exit.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=10)
            # Helpers left behind, or a browser that ignored SIGTERM.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._log.close()
            self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
