"""Shared helpers for the integration tests: ports, waiting, processes.

Every process a test starts goes through Proc, which remembers its pid and
stops exactly that process (TERM, then KILL) at the end.
"""
import os
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("PP_BUILDDIR", os.path.join(ROOT, "build", "asan"))


def binary(name):
    """Path of a built program (podcastpro-fcgi, podcastpro-worker, podcastpro-ctl)."""
    return os.path.join(BUILDDIR, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls PREDICATE until it returns a true value; returns it or raises."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing we wait for may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" +
                       (f" (last error: {last_exc})" if last_exc else ""))


def wait_port(port, host="127.0.0.1", timeout=10.0):
    def probe():
        with socket.create_connection((host, port), timeout=0.5):
            return True
    wait_for(probe, timeout, what=f"{host}:{port} to accept")


class Proc:
    """A process we started; stop() ends exactly it (and its process group
    when started with new_group=True)."""

    def __init__(self, argv, env=None, cwd=None, log=None, new_group=True, stdin=None):
        self.argv = argv
        self.log_path = log
        out = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     start_new_session=new_group)
        if log:
            out.close()
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    # The default is spelled as a number: in this class body the name
    # `signal` is the method above, not the module.
    def stop(self, timeout=15.0, sig=15):  # SIGTERM
        if not self.alive():
            return self.proc.returncode
        os.kill(self.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            return self.proc.wait(5)

    def log_text(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()


def read_env_file(path):
    """Reads the `export NAME='value'` lines script/services writes."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                env[k] = v.strip("'\"")
    return env
