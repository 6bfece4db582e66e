"""The course on a JupyterHub, on localhost: three students, each pulling the student repository.

The test starts a real JupyterHub (PyPI) behind configurable-http-proxy (npm), with a test-only
authenticator (``DummyAuthenticator``) and a local-process spawner whose pre-spawn hook pulls the student
repository (written by ``release --git``) into each user's home with nbgitpuller's own code, as an
nbgitpuller link would. Through the hub's REST API it starts each user's server; through the server's
REST and kernel-websocket APIs it runs an exercise's stub or solution and its check cell in each user's
kernel, and reads "passed" or "not attempted". The hub is stopped at the end.

Skipped, with the reason, where npm (for configurable-http-proxy) or JupyterHub is missing; failing instead
when CI is set.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from dlcourse.grading.student_repo import write_student_repo

pytestmark = [pytest.mark.unit1, pytest.mark.slow, pytest.mark.hub]
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHP_DIR = ROOT / ".cache" / "configurable-http-proxy"
USERS = {"ada": "solve", "grace": "stub", "alan": "solve"}
NOTEBOOK = "units/01-backprop/1.2-activations.ipynb"
SOLUTION = "    return 0.5 * (1.0 + np.tanh(0.5 * x))"


def unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the hub test)")
    pytest.skip(reason)


def proxy_command() -> str:
    """configurable-http-proxy from npm, installed once into .cache/ (the hub's proxy is a node program)."""
    chp = CHP_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if chp.exists():
        return str(chp)
    if shutil.which("npm") is None:
        unavailable("npm is missing: the hub's proxy, configurable-http-proxy, installs from npm")
    CHP_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CHP_DIR),
                           "configurable-http-proxy@4"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not chp.exists():
        unavailable(f"npm could not install configurable-http-proxy: {done.stderr.strip()[-300:]}")
    return str(chp)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HUB_CONFIG = """
import subprocess, sys
from pathlib import Path

c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.db_url = "sqlite:///{work}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{work}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"      # test only: any password
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "simple"           # local processes, homes under the test's folder
c.SimpleLocalProcessSpawner.home_dir_template = "{work}/home/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "course-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "course-test", "services": ["course-test"],
                             "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"]}}]


def pull_workspace(spawner):
    # What an nbgitpuller link does on first click: clone the student repository into the user's home.
    home = Path("{work}/home") / spawner.user.name
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c",
                    "import sys; from nbgitpuller.pull import GitPuller;"
                    "[print(l) for l in GitPuller(sys.argv[1], sys.argv[2], branch='main').pull()]",
                    "file://{repo}", str(home / "dlcourse")], check=True, capture_output=True)


c.Spawner.pre_spawn_hook = pull_workspace
"""


class Hub:
    def __init__(self, url: str, token: str, process: subprocess.Popen, log: Path):
        self.url, self.token, self.process, self.log = url, token, process, log

    def api(self, method: str, path: str, body=None, expect=(200, 201, 202, 204)):
        import requests

        r = requests.request(method, f"{self.url}{path}", headers={"Authorization": f"token {self.token}"},
                             json=body, timeout=60)
        assert r.status_code in expect, f"{method} {path}: {r.status_code} {r.text[:300]}\n{self.tail()}"
        return r.json() if r.content else None

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def start_server(self, user: str) -> None:
        self.api("POST", f"/hub/api/users/{user}/server", expect=(201, 202))
        deadline = time.time() + 180
        while time.time() < deadline:
            model = self.api("GET", f"/hub/api/users/{user}")
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(1)
        raise AssertionError(f"{user}'s server did not start\n{self.tail()}")

    def run_in_kernel(self, user: str, code: str) -> str:
        """Execute ``code`` in a new kernel of ``user``'s server; return what it printed and displayed."""
        import websocket

        kernel = self.api("POST", f"/user/{user}/api/kernels", {"name": "python3"})
        ws_url = self.url.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{kernel['id']}/channels"
        ws = websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"], timeout=120)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                                       "session": uuid.uuid4().hex, "version": "5.3"},
                            "parent_header": {}, "metadata": {}, "channel": "shell",
                            "content": {"code": code, "silent": False, "store_history": False,
                                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        out = []
        try:
            while True:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind in ("execute_result", "display_data"):
                    out.append(content["data"].get("text/plain", ""))
                elif kind == "error":
                    out.append(f"{content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
        finally:
            ws.close()
            self.api("DELETE", f"/user/{user}/api/kernels/{kernel['id']}")
        return "".join(out)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    for module in ("jupyterhub", "nbgitpuller", "websocket", "requests"):
        try:
            __import__(module)
        except ImportError:
            unavailable(f"{module} is not installed (make setup installs the hub extra)")
    chp = proxy_command()
    work = tmp_path_factory.mktemp("hub")
    repo = work / "student-repo"
    write_student_repo(repo, ROOT, install_from=None)
    port, token = free_port(), secrets.token_hex(16)
    config = work / "jupyterhub_config.py"
    args = ["--allow-root"] if os.geteuid() == 0 else []
    config.write_text(HUB_CONFIG.format(port=port, hub_port=free_port(), proxy_api_port=free_port(), chp=chp,
                                        work=work, users=set(USERS), singleuser=str(BIN / "jupyterhub-singleuser"),
                                        args=args, token=token, repo=repo))
    log = work / "hub.log"
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "CONFIGPROXY_AUTH_TOKEN":
                        secrets.token_hex(16)}
    with open(log, "w") as log_file:
        process = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=work, stdout=log_file,
                                   stderr=subprocess.STDOUT, env=env)
    server = Hub(f"http://127.0.0.1:{port}", token, process, log)
    try:
        import requests

        deadline = time.time() + 90
        while True:
            try:
                if requests.get(f"{server.url}/hub/api/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.time() < deadline, f"the hub did not start\n{server.tail()}"
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def exercise_cells(home_notebook: Path, solve: bool) -> str:
    """The code a student runs: imports, the exercise cell (stub, or with a solution typed in), its check."""
    nb = nbformat.read(home_notebook, as_version=4)
    stub = next(c.source for c in nb.cells if c.cell_type == "code" and "# Exercise 1.2" in c.source)
    if solve:
        stub = "\n".join(SOLUTION if "raise NotImplementedError" in ln else ln for ln in stub.splitlines())
    return textwrap.dedent(f"""
        import numpy as np
        from dlcourse.checks import check
        {{}}
        print(check("1.2", sigmoid))
    """).format(stub)


def test_three_students_pull_the_workspace_and_run_their_checks(hub):
    for user in USERS:
        hub.start_server(user)
    for user, plan in USERS.items():
        assert hub.api("GET", f"/hub/api/users/{user}")["servers"][""]["ready"]
        notebook = hub.log.parent / "home" / user / "dlcourse" / NOTEBOOK
        assert notebook.exists(), f"{user}'s workspace was not pulled\n{hub.tail()}"
        text = hub.run_in_kernel(user, exercise_cells(notebook, plan == "solve"))
        if plan == "solve":
            assert "✅ Exercise 1.2" in text and "all 3 test cases pass" in text, text
        else:
            assert "⏳ Exercise 1.2" in text and "not attempted" in text, text
    for user in USERS:
        hub.api("DELETE", f"/hub/api/users/{user}/server", expect=(202, 204))
