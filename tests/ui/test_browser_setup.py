"""How the UI tests get a Chromium: found on PATH, else installed with apt as root, else a
clear reason (which the fixture turns into a skip message)."""

from __future__ import annotations

import subprocess

import pytest

from tests.ui import browser
from tests.ui.browser import ChromiumUnavailable, ensure_chromium


@pytest.fixture
def no_chromium(monkeypatch):
    """PATH has apt-get and nothing else of interest; records the commands run."""
    monkeypatch.delenv("CHROMIUM", raising=False)
    installed = {"chromium": False}
    ran = []

    def which(name):
        if name == "apt-get":
            return "/usr/bin/apt-get"
        if name == "chromium" and installed["chromium"]:
            return "/usr/bin/chromium"
        return None

    def run(cmd, **kwargs):
        ran.append(cmd)
        if cmd[-1] == "chromium":
            installed["chromium"] = True
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(browser.shutil, "which", which)
    monkeypatch.setattr(browser.subprocess, "run", run)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    return ran


def test_uses_the_chromium_on_path(monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/chromium" if name == "chromium" else None)
    assert ensure_chromium() == "/usr/bin/chromium"


def test_installs_debians_chromium_with_apt_when_missing(no_chromium):
    assert ensure_chromium(log=lambda _m: None) == "/usr/bin/chromium"
    assert no_chromium == [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ]


def test_says_why_when_apt_cannot_install(no_chromium, monkeypatch):
    def offline(cmd, **kwargs):
        return subprocess.CompletedProcess(
            cmd, 100, "", "E: Failed to fetch http://deb.debian.org/... Temporary failure resolving"
        )

    monkeypatch.setattr(browser.subprocess, "run", offline)
    with pytest.raises(ChromiumUnavailable, match="no network.*Temporary failure resolving"):
        ensure_chromium(log=lambda _m: None)


def test_says_why_when_not_root(no_chromium, monkeypatch):
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    with pytest.raises(ChromiumUnavailable, match="needs root"):
        ensure_chromium(log=lambda _m: None)
    assert not any(cmd[0] == "apt-get" for cmd in no_chromium)
