"""A newcomer's first run (issue 11): the README's two commands from any
checkout path, script/test's last line whatever stops it, script/run's
port check, bounded readiness wait and signal handling, and GET /.

script/run and script/test are driven with their test switches
(PP_SKIP_INSTALL, PP_BUILDDIR or PP_SKIP_BUILD, PP_VARDIR): nothing is
installed or built here. Where a run could touch the checkout's own state
(build/test-services, var/), it runs from a copy of script/ in a temporary
directory instead.
"""
import os
import pty
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid

import psycopg2
import pytest
import redis

import pp
from servers import Lighttpd, Nginx, Responder, http, http_json, pid_alive, stop_all

SCRIPT = os.path.join(pp.ROOT, "script")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the private-checkout case needs root: "
                             "as another user PostgreSQL and nginx run as that user")


def copy_scripts(dest):
    shutil.copytree(SCRIPT, os.path.join(dest, "script"))
    return os.path.join(dest, "script")


def pids_of_tree(root_pid):
    """ROOT_PID and every live descendant."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return [p for p in found if pid_alive(p)]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def read_pid(path):
    with open(path) as f:
        return int(f.readline().split()[0])


def base_env(**extra):
    """The environment without the session's services (so that script/run
    starts its own) plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(extra)
    return env


# --- 1. Any checkout path: a private one (mode 0700, like /root) ---------

@as_root
def test_services_start_and_stop_from_a_private_directory():
    top = tempfile.mkdtemp(prefix="pp-private-checkout-")   # mode 0700
    assert stat.S_IMODE(os.stat(top).st_mode) == 0o700
    services = copy_scripts(top) + "/services"
    svc = os.path.join(top, "var", "services")
    try:
        r = subprocess.run([services, "start", svc], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PP_PG_FSYNC="off"))
        assert r.returncode == 0, r.stdout + r.stderr
        env = pp.read_env_file(os.path.join(svc, "env"))
        # The data lives where postgres can reach it, not inside the checkout.
        assert not env["PP_PG_DATA"].startswith(top)
        assert os.path.islink(svc) and os.path.realpath(svc) == os.path.dirname(env["PP_PG_DATA"])
        assert stat.S_IMODE(os.stat(top).st_mode) == 0o700      # the checkout's modes untouched
        with psycopg2.connect(env["DATABASE_URL"]) as conn, conn.cursor() as c:
            c.execute("SELECT current_database()")
            assert c.fetchone() == ("podcastpro",)
        conn.close()
        assert redis.Redis.from_url(env["REDIS_URL"]).ping()
        pg_pid = read_pid(os.path.join(env["PP_PG_DATA"], "postmaster.pid"))
        redis_pid = read_pid(env["PP_REDIS_PIDFILE"])

        r = subprocess.run([services, "stop", svc], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        pp.wait_for(lambda: not pid_alive(pg_pid) and not pid_alive(redis_pid), 10,
                    what="PostgreSQL and Redis to stop")

        state = os.path.realpath(svc)
        r = subprocess.run([services, "destroy", svc], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert not os.path.lexists(svc) and not os.path.exists(state)
    finally:
        subprocess.run([services, "destroy", svc], capture_output=True, timeout=60)
        shutil.rmtree(top, ignore_errors=True)


# --- 2. script/test: "N passed, N failed" last, whatever stops it ----------

def script_test_copy(tmp, makefile=None):
    """A copy of script/ under TMP (searchable, so nothing is relocated) with
    build/asan/Makefile holding MAKEFILE: script/test runs there with its own
    build/test-services, never the checkout's."""
    os.chmod(tmp, 0o755)
    copy_scripts(tmp)
    os.makedirs(os.path.join(tmp, "build", "asan"))
    if makefile is not None:
        with open(os.path.join(tmp, "build", "asan", "Makefile"), "w") as f:
            f.write(makefile)
    return os.path.join(tmp, "script", "test")


def test_script_test_summary_when_the_services_do_not_start(tmp_path):
    script = script_test_copy(str(tmp_path))
    r = subprocess.run([script], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PP_SKIP_INSTALL="1", PP_SKIP_BUILD="1",
                                PP_PG_BIN=str(tmp_path / "no-postgresql-here")))
    assert r.returncode != 0
    assert r.stdout.splitlines()[-1] == "0 passed, 1 failed", r.stdout + r.stderr
    assert "starting PostgreSQL and Redis failed" in r.stderr


def test_script_test_counts_a_failing_make_check_and_a_failing_pytest(tmp_path):
    # make check fails without a FAIL line (no test-suite.log at all), and
    # pytest cannot even start (the copy has no tests): one failure each.
    script = script_test_copy(str(tmp_path), "check:\n\t@echo no tests built; exit 2\n")
    try:
        r = subprocess.run([script], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PP_SKIP_INSTALL="1", PP_SKIP_BUILD="1"))
        assert r.returncode != 0
        assert r.stdout.splitlines()[-1] == "0 passed, 2 failed", r.stdout + r.stderr
    finally:
        subprocess.run([os.path.join(str(tmp_path), "script", "services"), "destroy",
                        os.path.join(str(tmp_path), "build", "test-services")], timeout=60)


def test_script_test_counting_functions():
    def counts(call):
        r = subprocess.run(["bash", "-c", f". {SCRIPT}/test; {call}"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "test-suite.log")
        with open(log, "w") as f:
            f.write("# TOTAL: 7\n# PASS: 6\n# SKIP: 0\n# FAIL: 1\n# ERROR: 0\n")
        assert counts(f"unit_counts 2 {log}") == ["6", "1"]
        with open(log, "w") as f:
            f.write("# TOTAL: 7\n# PASS: 7\n# FAIL: 0\n")
        assert counts(f"unit_counts 0 {log}") == ["7", "0"]
        # make check failed although no test did: still a failure.
        assert counts(f"unit_counts 2 {log}") == ["7", "1"]
        assert counts(f"unit_counts 2 {d}/missing.log") == ["0", "1"]
        # pytest: no report is a failure; so is a non-zero status without one.
        assert counts(f"pytest_counts 0 {d}/missing.xml") == ["0", "1"]
        xml = os.path.join(d, "pytest.xml")
        with open(xml, "w") as f:
            f.write('<testsuites><testsuite tests="5" failures="0" errors="0" skipped="1"/>'
                    '</testsuites>')
        assert counts(f"pytest_counts 0 {xml}") == ["4", "0"]
        assert counts(f"pytest_counts 2 {xml}") == ["4", "1"]


def test_script_test_summary_when_terminated(tmp_path):
    # SIGTERM while the unit tests run: the step is stopped, the services
    # too, and the summary is still the last line.
    script = script_test_copy(str(tmp_path), "check:\n\tsleep 120\n")
    svc = os.path.join(str(tmp_path), "build", "test-services")
    proc = subprocess.Popen([script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PP_SKIP_INSTALL="1", PP_SKIP_BUILD="1"),
                            start_new_session=True)
    try:
        pp.wait_for(lambda: any("sleep" in open(f"/proc/{p}/cmdline").read()
                                for p in pids_of_tree(proc.pid)), 90, what="make check to run")
        env = pp.read_env_file(os.path.join(svc, "env"))
        pg_pid = read_pid(os.path.join(env["PP_PG_DATA"], "postmaster.pid"))
        redis_pid = read_pid(env["PP_REDIS_PIDFILE"])
        tree = pids_of_tree(proc.pid)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert time.monotonic() - started < 30, err
        assert proc.returncode != 0
        assert out.splitlines()[-1] == "0 passed, 1 failed", out + err
        for p in tree + [pg_pid, redis_pid]:
            assert not pid_alive(p), (p, err)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run([os.path.join(str(tmp_path), "script", "services"), "destroy", svc],
                       timeout=60)


# --- 3. script/run: busy port, bounded readiness, signals ----------------

def test_script_run_refuses_a_busy_port_before_doing_anything(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    run = copy_scripts(str(tmp_path)) + "/run"
    var = os.path.join(str(tmp_path), "var")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        r = subprocess.run([run, "--once"], capture_output=True, text=True, timeout=60,
                           env=base_env(PORT=str(port), PP_VARDIR=var))
    assert time.monotonic() - started < 10
    assert r.returncode != 0
    assert f"port {port} is in use" in r.stderr, r.stderr
    # Nothing installed, built or started: no state directory, no build.
    assert not os.path.exists(var) and not os.path.exists(os.path.join(str(tmp_path), "build"))


@pytest.fixture
def scratch_db(services):
    name = "pp_firstrun_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(services["DATABASE_URL"])
    admin.autocommit = True
    with admin.cursor() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = re.sub(r"/[^/?]+(\?|$)", rf"/{name}\1", services["DATABASE_URL"], count=1)
    yield url
    with admin.cursor() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_script_run_readiness_wait_is_bounded(tmpdir_world, scratch_db):
    # Redis is down: /health/ready never says ready. script/run says so after
    # PP_READY_TIMEOUT seconds and stops what it started.
    var = os.path.join(str(tmpdir_world), "var")
    port = pp.free_port()
    proc = subprocess.Popen([os.path.join(SCRIPT, "run"), "--once"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=base_env(PORT=str(port), PP_VARDIR=var, PP_SKIP_INSTALL="1",
                                         PP_BUILDDIR=pp.BUILDDIR, PP_READY_TIMEOUT="3",
                                         DATABASE_URL=scratch_db,
                                         REDIS_URL=f"redis://127.0.0.1:{pp.free_port()}/0"))
    try:
        seen, names = set(), set()
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            for p in pids_of_tree(proc.pid):
                if p not in seen:
                    seen.add(p)
                    names.add(comm(p))
            time.sleep(0.1)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, out + err
        assert "not ready after 3 s" in err, err
        # It had started them all, and stopped them all.
        assert {"podcastpro-fcgi", "podcastpro-work", "nginx"} <= names, names
        pp.wait_for(lambda: not any(pid_alive(p) for p in seen), 5, what="every process to end")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_script_run_stops_everything_on_sigterm(tmpdir_world):
    # SIGTERM in the middle of the main job: the demo, nginx, the responder,
    # the worker, PostgreSQL and Redis all stop, and script/run exits.
    var = os.path.join(str(tmpdir_world), "var")
    port = pp.free_port()
    proc = subprocess.Popen([os.path.join(SCRIPT, "run")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=base_env(PORT=str(port), PP_VARDIR=var, PP_SKIP_INSTALL="1",
                                         PP_BUILDDIR=pp.BUILDDIR, PP_PG_FSYNC="off"))
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        pp.wait_for(lambda: any("queued; following it" in l for l in lines) or proc.poll() is not None,
                    120, what="the main job to start")
        assert proc.poll() is None, "".join(lines)
        env = pp.read_env_file(os.path.join(var, "services", "env"))
        others = [read_pid(os.path.join(env["PP_PG_DATA"], "postmaster.pid")),
                  read_pid(env["PP_REDIS_PIDFILE"]), read_pid(os.path.join(var, "nginx", "nginx.pid"))]
        tree = pids_of_tree(proc.pid)
        assert len(tree) > 4, tree
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        reader.join(10)
        assert proc.returncode != 0
        alive = [p for p in tree + others if pid_alive(p)]
        assert alive == [], "".join(lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run([os.path.join(SCRIPT, "services"), "stop", os.path.join(var, "services")],
                       timeout=60)


def test_script_run_stops_everything_on_ctrl_c_during_start_up(tmpdir_world):
    # Ctrl-C typed in its terminal while it starts the programs: the
    # terminal's SIGINT reaches script/run (its programs run in groups of
    # their own), which stops what had started and exits 130.
    var = os.path.join(str(tmpdir_world), "var")
    env = base_env(PORT=str(pp.free_port()), PP_VARDIR=var, PP_SKIP_INSTALL="1",
                   PP_BUILDDIR=pp.BUILDDIR, PP_PG_FSYNC="off", PP_SKIP_DEMO="1")
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(os.path.join(SCRIPT, "run"), [os.path.join(SCRIPT, "run")], env)
        finally:
            os._exit(127)
    out = b""
    try:
        deadline = time.monotonic() + 120
        while b"starting the worker" not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        assert b"starting the worker" in out, out.decode(errors="replace")
        envfile = pp.read_env_file(os.path.join(var, "services", "env"))
        others = [read_pid(os.path.join(envfile["PP_PG_DATA"], "postmaster.pid")),
                  read_pid(envfile["PP_REDIS_PIDFILE"])]
        tree = pids_of_tree(pid)
        os.write(fd, b"\x03")
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    pass
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        assert status is not None and os.waitstatus_to_exitcode(status) == 130, out.decode(errors="replace")
        alive = [p for p in tree + others if pid_alive(p)]
        assert alive == [], out.decode(errors="replace")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
        subprocess.run([os.path.join(SCRIPT, "services"), "stop", os.path.join(var, "services")],
                       timeout=60)


# --- 5. GET / ----------------------------------------------------------------

def configure_version():
    with open(os.path.join(pp.ROOT, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[([^]]+)\],\s*\[([^]]+)\]", f.read())
    return m.group(1), m.group(2)


@pytest.mark.parametrize("server", ["nginx", "lighttpd"])
def test_root_says_what_this_is(server, tmpdir_world, services):
    app = web = None
    try:
        app = Responder.listen(tmpdir_world, services, processes=1, threads=2)
        web = (Nginx if server == "nginx" else Lighttpd)(tmpdir_world, socket_path=app.socket,
                                                        storage_dir=app.storage_dir)
        name, version = configure_version()
        status, headers, doc = http_json(web.url + "/")
        assert status == 200, doc
        assert headers["content-type"].startswith("application/json")
        assert doc["name"] == name and doc["version"] == version
        for path in doc["docs"].values():
            if "/" in path or path.endswith(".md"):
                assert os.path.exists(os.path.join(pp.ROOT, path)), path
        assert http_json(web.url + doc["health"])[0] == 200

        status, headers, body = http(web.url + "/", method="HEAD")
        assert status == 200 and body == b""
        assert headers["content-type"].startswith("application/json")

        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, headers, doc = http_json(web.url + "/", method=method, body=b"{}")
            assert status == 405, (method, doc)
            assert doc == {"detail": "Method Not Allowed"}
            assert headers["allow"] == "GET, HEAD"
        # "/" is "/" only.
        assert http_json(web.url + "/nothing-here")[0] == 404
        # The responder answered, not the web server on its own.
        assert re.search(r"GET / 200 ", app.log_text()), app.log_text()[-2000:]
    finally:
        stop_all(web, app)
