"""Fixtures of the report tests: a tiny stored study, and headless Chromium (installed when missing).

CI starts from a clean Debian image as root: when ``chromium`` is absent the session installs it
with apt-get once. Where that is impossible the browser tests fail (never skip): a report nobody
has seen render is not tested.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")
PROBE = ("<script>window.addEventListener('load', () => { document.body.dataset.probe = JSON.stringify("
         "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])); });</script>")


class ProxyAndTruth(TabularObjective):
    """NB201 ground truth plus a framework-free stand-in proxy (parameters), so a report has a proxy to plot without torch."""

    def __init__(self) -> None:
        super().__init__(NB201Benchmark.default(), space)
        self.name = "test:tabular+proxy/params"
        self.directions = {**self.directions, "proxy/params": "maximize"}

    def evaluate(self, arch):
        return {**super().evaluate(arch), "proxy/params": space.network(arch).count_params() / 1e6}


@pytest.fixture(scope="session")
def study_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-trial regularized-evolution study on NB201 (ground truth and a stand-in proxy)."""
    path = tmp_path_factory.mktemp("study") / "tiny.db"
    study = Study.open(path, space, make_strategy("rea", space), ProxyAndTruth(), seed=0)
    study.optimize(budget_evals=20)
    study.storage.close()
    return path


def _install() -> str:
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("the report tests need headless Chromium at /usr/bin/chromium and cannot install it here "
                    "(not root, or no apt-get): run `apt-get install -y chromium` (Debian) as root, then rerun")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=1200, env=env)
        if done.returncode:
            pytest.fail(f"installing Chromium failed at `{' '.join(command)}` (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM


@dataclass(frozen=True)
class Browser:
    """Headless Chromium driven by its command-line flags alone (no webdriver, no DevTools client)."""

    path: str
    profile: Path

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [self.path, *FLAGS, f"--user-data-dir={self.profile}", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
        return done

    def screenshot(self, page: Path, png: Path, size: str = "1280,2400") -> list[str]:
        """Renders ``page`` into ``png``; returns the console messages the page logged (errors, CSP violations)."""
        done = self._run("--enable-logging=stderr", "--v=0", f"--window-size={size}", f"--screenshot={png}", page.resolve().as_uri())
        return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]

    def images(self, page: Path) -> list[list]:
        """``[complete, naturalWidth, naturalHeight]`` of every <img> once the page has loaded.

        A copy of the page gets a probe script (and a CSP that lets that one inline script run) and
        Chromium prints the DOM after load; the probe leaves its findings on ``<body data-probe>``.
        """
        probe = page.with_name(page.stem + ".probe.html")
        text = page.read_text(encoding="utf-8").replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
        probe.write_text(text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
        dom = self._run("--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri()).stdout
        found = re.search(r'data-probe="([^"]*)"', dom)
        assert found, f"the probe script did not run; DOM starts {dom[:300]!r}"
        return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None) or _install()
    return Browser(path, tmp_path_factory.mktemp("chromium-profile"))
