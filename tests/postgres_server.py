"""A throwaway PostgreSQL server for the tests, from the distribution's package (`.ci/run` installs it).

The cluster lives in a temporary folder and listens only on a unix socket there (no TCP port); it runs
as the ``postgres`` system user when the tests run as root (PostgreSQL refuses to run as root), and is
stopped with ``pg_ctl stop`` on its own data folder at the end of the session.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PACKAGE_HINT = "apt-get install postgresql (.ci/run installs it)"


def server_bin() -> Path | None:
    """The folder of the newest installed PostgreSQL server's programs (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PostgresServer:
    """One cluster: ``start()``, ``create_database(name)`` -> SQLAlchemy URL, ``stop()``."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="course-kit-postgres-"))
        self.data, self.socket_dir = self.folder / "data", self.folder / "socket"  # socket_dir: the log too
        self.log_file = self.socket_dir / "server.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                account = pwd.getpwnam(self.user)
            except KeyError:
                raise RuntimeError("the tests run as root, and there is no 'postgres' user to run the server "
                                   f"as ({PACKAGE_HINT} creates it)") from None
            self.folder.chmod(0o755)
            for folder in (self.data, self.socket_dir):
                folder.mkdir()
                os.chown(folder, account.pw_uid, account.pw_gid)
        else:
            self.socket_dir.mkdir()

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bindir / program), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.folder,
                              env=os.environ | {"LC_ALL": "C"})  # messages in ASCII, whatever the server's locale

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL: {what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        self._check(self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                              "--encoding=UTF8", "--no-sync"), "initdb")
        options = f"-c listen_addresses='' -k {self.socket_dir} -c fsync=off -c max_connections=200"
        self._check(self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log_file),
                              "-o", options), "pg_ctl start (see server.log)")

    def create_database(self, name: str, encoding: str | None = None) -> str:
        """Create database ``name`` (storing text as ``encoding``: the cluster's UTF-8 by default) and return its
        SQLAlchemy URL (psycopg 3, over the unix socket)."""
        options = ["-E", encoding, "-T", "template0", "--locale=C"] if encoding else []
        self.tool("createdb", *options, name)
        return self.url(name)

    def tool(self, program: str, *args: str) -> None:
        """Run PostgreSQL's client ``program`` (createdb, pg_dump, psql) on this server, as its superuser."""
        self._check(self._run(program, "-h", str(self.socket_dir), "-U", "postgres", *args), f"{program} {args}")

    def url(self, name: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@/{name}?host={self.socket_dir}"

    def sql(self, database: str, statements: str) -> None:
        """Run ``statements`` in ``database`` as the superuser (to make a user and give it rights, say)."""
        self._check(self._run("psql", "-h", str(self.socket_dir), "-U", "postgres", "-d", database,
                              "-v", "ON_ERROR_STOP=1", "-c", statements), statements)

    def log(self) -> str:
        try:
            return self.log_file.read_text()
        except OSError:
            return ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A running PostgreSQL server for this test session (skipped, saying why, where none is installed)."""
    bindir = server_bin()
    if bindir is None:
        pytest.skip(f"PostgreSQL's server is not installed: {PACKAGE_HINT}")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
