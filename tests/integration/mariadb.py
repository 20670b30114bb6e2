"""A throwaway MariaDB server on loopback, for the test that moves the
original app's MySQL tables to PostgreSQL. Debian's mariadb-server, started
without its service: its own data directory, socket and port, run as the
`mysql` user when the test runs as root, stopped by its pid.
"""
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

from stack import free_port

SBIN = ["/usr/sbin", "/usr/bin"]


def _find(name):
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", "")] + SBIN))
    if not found:
        raise RuntimeError("%s not found: install Debian's mariadb-server "
                           "(./scripts/test installs it)" % name)
    return found


class MariaDB:
    """start() it, then sql(); stop() always (also after a failed start)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="leadhook-mariadb-")
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(self.dir, "error.log")
        self.pid_file = os.path.join(self.dir, "mariadbd.pid")
        self.port = free_port()
        self.process = None
        self.user = "mysql" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _as_owner(self, args):
        return ["runuser", "-u", self.user, "--"] + args if os.geteuid() == 0 else args

    def start(self, timeout=60):
        if os.geteuid() == 0:  # the data directory's parent must be the server's
            shutil.chown(self.dir, self.user)
        subprocess.run(self._as_owner([
            _find("mariadb-install-db"), "--no-defaults", "--user=" + self.user,
            "--datadir=" + self.data, "--auth-root-authentication-method=normal"]),
            check=True, capture_output=True, timeout=timeout)
        self.process = subprocess.Popen(self._as_owner([
            _find("mariadbd"), "--no-defaults", "--datadir=" + self.data,
            "--socket=" + self.socket, "--port=%d" % self.port, "--bind-address=127.0.0.1",
            "--log-error=" + self.log, "--pid-file=" + self.pid_file,
            # MySQL's default before 8.0 (and MariaDB's without Debian's
            # config): an original app's tables may well be in it.
            "--character-set-server=latin1"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("mariadbd exited: " + self.error_log())
            try:
                self.sql("SELECT 1")
                return self
            except RuntimeError:
                if time.time() > deadline:
                    raise RuntimeError("mariadbd not ready in %d s: %s" % (
                        timeout, self.error_log()))
                time.sleep(0.2)

    def error_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return "(no error log)"

    def sql(self, query, database=None):
        """Runs `query` as root over the socket: rows of tab-separated text."""
        args = [_find("mariadb"), "--no-defaults", "--socket=" + self.socket, "--user=root",
                "--batch", "--skip-column-names", "--default-character-set=utf8mb4"]
        result = subprocess.run(args + ([database] if database else []), input=query,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError("mariadb failed: %s" % result.stderr)
        return [line.split("\t") for line in result.stdout.splitlines()]

    def add_loader(self, database):
        """A user for pgloader, which reads over TCP with a password:
        (user, password)."""
        password = secrets.token_hex(12)
        self.sql("CREATE USER 'loader'@'127.0.0.1' IDENTIFIED BY '%s';"
                 " GRANT SELECT, SHOW VIEW ON %s.* TO 'loader'@'127.0.0.1';" % (password, database))
        return "loader", password

    def stop(self):
        """SIGTERM to mariadbd (its pid file: runuser stands between), then
        waits for it; removes the directory."""
        if self.process and self.process.poll() is None:
            try:
                with open(self.pid_file) as f:
                    os.kill(int(f.read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
