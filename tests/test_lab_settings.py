"""The course's JupyterLab: no "Jupyter news?" pop-up and no update check (issue 8).

``make setup`` copies ``lrcourse/course/lab_overrides.json`` to JupyterLab's application
settings. This test starts the real server from the course environment and asks it for the
notification settings a browser would get.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ROOT / "lrcourse" / "course" / "lab_overrides.json"
INSTALLED = (
    Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
)
PLUGIN = "@jupyterlab/apputils-extension:notification"


def test_overrides_turn_news_and_update_checks_off():
    settings = json.loads(OVERRIDES.read_text())[PLUGIN]
    assert settings == {"fetchNews": "false", "checkForUpdates": False}
    assert "lrcourse/course/lab_overrides.json" in (ROOT / "Makefile").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    not INSTALLED.exists(), reason="not the course's .venv (make setup)"
)
def test_the_running_server_serves_news_off(tmp_path):
    port, token = _free_port(), secrets.token_hex(8)
    env = dict(os.environ, HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"))  # fmt: skip
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}"]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/lab/api/settings/{PLUGIN}?token={token}"
    try:
        for _ in range(100):  # up to 20 s for the server to start
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    # overrides become the schema's defaults, which a browser then uses
                    schema = json.load(response)["schema"]["properties"]
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("JupyterLab did not answer within 20 s")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert schema["fetchNews"]["default"] == "false"
    assert schema["checkForUpdates"]["default"] is False
