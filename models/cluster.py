"""The embedded PostGIS cluster: initdb, start, stop and status under ``SKYGROUND_HOME``.

PostgreSQL refuses to run as root, so when SkyGround runs as root the server programs run
as an unprivileged OS user (``postgres`` by default) through ``runuser``. Every folder the
server touches belongs to that user; when ``SKYGROUND_HOME`` sits below a folder that user
cannot enter (a 0700 home directory), the cluster's data folder moves to
``/var/lib/skyground/clusters/<hash of the home path>`` and ``db status`` says so.

The server listens on 127.0.0.1 only, on a free port chosen at start, with password
authentication (scram-sha-256). The generated password sits in ``<home>/database.json``
(mode 0600) so no one is ever prompted.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.errors import ClusterError
from models.settings import DatabaseSettings

__all__ = ["ClusterStatus", "EmbeddedCluster", "external_programs", "find_pg_bindir"]

RUNUSER = Path("/sbin/runuser")
SUPERUSER = "skyground"
DATABASE = "skyground"
_SHARED_ROOT = Path("/var/lib/skyground/clusters")
_PORT_CONF = "skyground-port.conf"


def find_pg_bindir(configured: Path | None = None) -> Path:
    """The folder with ``initdb``/``pg_ctl``: the setting, else Debian's newest version."""
    if configured is not None:
        if not (configured / "pg_ctl").is_file():
            raise ClusterError(
                action="init", detail=f"no pg_ctl in SKYGROUND_PG_BINDIR={configured}"
            )
        return configured
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise ClusterError(
            action="init",
            detail="PostgreSQL server binaries not found under /usr/lib/postgresql; "
            "run 'make setup' (installs postgresql-15 and postgresql-15-postgis-3)",
        )
    return candidates[-1].parent


SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
CLIENT_PROGRAMS = ("pg_dump", "pg_restore")


def external_programs(configured_bindir: Path | None = None) -> list[Path]:
    """Every system program the database code runs (setup must install each)."""
    bindir = find_pg_bindir(configured_bindir)
    return [RUNUSER, *(bindir / name for name in SERVER_PROGRAMS + CLIENT_PROGRAMS)]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL binds: connections the stopped server closed linger in TIME_WAIT
        # on its port, and without this the restarted cluster would move to another port
        # under the feet of running services.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class ClusterStatus:
    """What ``skyground db status`` reports."""

    initialised: bool
    running: bool
    data_dir: Path
    port: int | None
    os_user: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "initialised": self.initialised,
            "running": self.running,
            "data_dir": str(self.data_dir),
            "port": self.port,
            "os_user": self.os_user,
        }


class EmbeddedCluster:
    """A PostgreSQL + PostGIS cluster owned by one SkyGround home folder.

    Args:
        settings: database settings (``home``, ``pg_bindir``, ``pg_os_user``).
        durable: False turns off fsync and friends; only for throw-away test clusters.
    """

    def __init__(self, settings: DatabaseSettings, *, durable: bool = True) -> None:
        self.home = settings.home.resolve()
        self.bindir = find_pg_bindir(settings.pg_bindir)
        self.durable = durable
        self.as_root = os.geteuid() == 0
        self.os_user = settings.pg_os_user if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.state_file = self.home / "database.json"

    # -- locations -------------------------------------------------------------------------

    @property
    def cluster_root(self) -> Path:
        """Folder owned by the server user holding ``data/`` and ``server.log``."""
        state = self._read_state()
        if state and "cluster_root" in state:
            return Path(str(state["cluster_root"]))
        return self._choose_cluster_root()

    @property
    def data_dir(self) -> Path:
        """The PGDATA folder."""
        return self.cluster_root / "data"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.cluster_root / "server.log"

    def _choose_cluster_root(self) -> Path:
        local = self.home / "postgres"
        if not self.as_root or self._user_can_enter(self.home):
            return local
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
        return _SHARED_ROOT / digest

    def _user_can_enter(self, folder: Path) -> bool:
        result = subprocess.run(
            [str(RUNUSER), "-u", self.os_user, "--", "test", "-x", str(folder)],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    # -- state -----------------------------------------------------------------------------

    def _read_state(self) -> dict[str, object] | None:
        if not self.state_file.is_file():
            return None
        data: dict[str, object] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return data

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=2)
        os.replace(tmp, self.state_file)

    @property
    def port(self) -> int | None:
        """The port of the last start, if any."""
        state = self._read_state()
        return int(str(state["port"])) if state and state.get("port") else None

    # -- running programs ------------------------------------------------------------------

    def _run(self, program: str, args: Sequence[str], *, action: str) -> str:
        command = [str(self.bindir / program), *args]
        if self.as_root:
            command = [str(RUNUSER), "-u", self.os_user, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=str(self.cluster_root)
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            log_tail = self._log_tail()
            raise ClusterError(action=action, detail=" | ".join(detail + log_tail))
        return result.stdout

    def _log_tail(self) -> list[str]:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
        except OSError:
            return []

    def _chown(self, path: Path) -> None:
        if self.as_root:
            shutil.chown(path, user=self.os_user, group=pwd.getpwnam(self.os_user).pw_gid)

    # -- lifecycle -------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        """Whether initdb has run."""
        return (self.data_dir / "PG_VERSION").is_file()

    def init(self) -> None:
        """Run initdb once; a second call does nothing."""
        if self.is_initialised() and self._read_state():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        root = self._choose_cluster_root()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        root.chmod(0o700)
        self._chown(root)
        password = secrets.token_urlsafe(24)
        self._write_state({"cluster_root": str(root), "password": password, "port": None})
        pwfile = root / "initdb.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        self._chown(pwfile)
        try:
            self._run(
                "initdb",
                [
                    "-D",
                    str(root / "data"),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
                action="initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        lines = [
            "",
            "# Added by SkyGround",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "logging_collector = off",
            "timezone = 'UTC'",
            "max_connections = 100",
            # JIT costs more than it saves on short map and series queries.
            "jit = off",
            f"include_if_exists = '{_PORT_CONF}'",
        ]
        if not self.durable:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        conf = root / "data" / "postgresql.conf"
        # Written by root: the file stays owned by the server user because we append in place.
        with conf.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def status(self) -> ClusterStatus:
        """Whether the cluster is initialised and running."""
        running = False
        if self.is_initialised():
            pid_file = self.data_dir / "postmaster.pid"
            running = pid_file.is_file() and self._pg_ctl_status()
        return ClusterStatus(
            initialised=self.is_initialised(),
            running=running,
            data_dir=self.data_dir,
            port=self.port,
            os_user=self.os_user,
        )

    def _pg_ctl_status(self) -> bool:
        command = [str(self.bindir / "pg_ctl"), "status", "-D", str(self.data_dir)]
        if self.as_root:
            command = [str(RUNUSER), "-u", self.os_user, "--", *command]
        return subprocess.run(command, capture_output=True, check=False).returncode == 0

    def start(self) -> bool:
        """Init if needed and start; True if this call started the server."""
        self.init()
        if self.status().running:
            return False
        state = self._read_state() or {}
        port = state.get("port")
        if not isinstance(port, int) or not _port_is_free(port):
            port = _free_port()
        port_conf = self.data_dir / _PORT_CONF
        port_conf.write_text(f"port = {port}\n", encoding="utf-8")
        self._chown(port_conf)
        state["port"] = port
        self._write_state(state)
        self._run(
            "pg_ctl",
            ["start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60"],
            action="start",
        )
        return True

    def stop(self) -> bool:
        """Stop a running server (fast shutdown); True if it was running."""
        if not self.status().running:
            return False
        self._run("pg_ctl", ["stop", "-D", str(self.data_dir), "-m", "fast", "-w"], action="stop")
        return True

    def url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL of the running cluster."""
        state = self._read_state()
        if not state or not state.get("port"):
            raise ClusterError(action="connect", detail="not started; run 'skyground db start'")
        return (
            f"postgresql+psycopg://{SUPERUSER}:{state['password']}"
            f"@127.0.0.1:{state['port']}/{database}"
        )

    def destroy(self) -> None:
        """Stop the server and delete its data (test clusters)."""
        self.stop()
        shutil.rmtree(self.cluster_root, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)
