"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks (binaries from the ``pgserver``
wheel, installed with the ``test`` and ``bench`` extras; no system PostgreSQL needed).

``with LocalPostgres(tmp_dir) as url:`` runs ``initdb`` into ``tmp_dir`` (once), starts ``postgres``
listening on a free TCP port of 127.0.0.1 only (no Unix socket), waits until it accepts connections
and yields a ``postgresql://postgres@127.0.0.1:PORT/postgres`` URL; leaving the block stops it (fast
shutdown). PostgreSQL refuses to run as root: as root the server runs as the system user
``pgserver`` (created if missing, as the ``pgserver`` package does).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    def __init__(self, directory: Path, *, port: int | None = None, user: str = "postgres"):
        import warnings

        with warnings.catch_warnings():  # pgserver asks platformdirs for a runtime dir it does not need here
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.data = Path(directory).resolve() / "pgdata"
        self.port = port or _free_port()
        self.user = user
        self.proc: subprocess.Popen | None = None
        self.system_user: str | None = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            self.system_user = "pgserver"
            ensure_user_exists(self.system_user)
            self.data.parent.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(self.data.parent)
            os.chmod(self.data.parent, 0o777)

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run_kwargs(self) -> dict:
        return {"user": self.system_user} if self.system_user else {}

    def start(self, timeout_s: float = 60.0) -> str:
        if not (self.data / "PG_VERSION").exists():
            subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
                            "--encoding=utf8", "--no-sync"], check=True, capture_output=True, **self._run_kwargs())
        log = open(self.data.parent / "postgres.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port), "-k", "",
             "-c", "max_connections=200"], stdout=log, stderr=log, **self._run_kwargs())
        deadline = time.monotonic() + timeout_s
        import psycopg

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}: "
                                   f"{(self.data.parent / 'postgres.log').read_text()[-2000:]}")
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                                connect_timeout=2).close()
                return self.url
            except psycopg.OperationalError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"postgres did not accept connections on 127.0.0.1:{self.port} in {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
