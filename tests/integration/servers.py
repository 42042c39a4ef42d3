"""Web servers and the responder, started for a test and stopped by pid.

    with Responder.listen(tmp, services, processes=2, threads=2) as app, \\
         Nginx(tmp, app.socket, keepalive=1) as web:
        status, headers, body = http(web.url + "/health")

The responder runs one of four ways: its own supervisor (--listen),
spawn-fcgi (socket on fd 0, -F children), a systemd-style launch
(LISTEN_FDS/LISTEN_PID, the socket on fd 3), or started by lighttpd
(Lighttpd(bin_path=...)). nginx's workers and lighttpd run as www-data:
every directory on the way to a socket must be searchable by it (use the
tmpdir_world fixture), and sockets are created mode 0666.

Every class has .stop() (also on leaving a with block), .pids() (the
responder processes serving), and .log_path / .log_text().
"""
import http.client as httpclient
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import pp

NGINX_CONF = os.path.join(pp.ROOT, "etc", "nginx", "podcast-pro.conf")
LIGHTTPD_CONF = os.path.join(pp.ROOT, "etc", "lighttpd", "podcast-pro.conf")
SHIPPED_SOCKET = "/run/podcast-pro/api.sock"
SHIPPED_STORAGE = "/var/lib/podcast-pro/storage/"


def http(url, method="GET", body=None, headers=None, timeout=15.0):
    """One request on a new connection: (status, headers as a lower-cased
    dict, body bytes). Raises on connection errors."""
    u = urllib.parse.urlsplit(url)
    conn = httpclient.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        target = u.path + ("?" + u.query if u.query else "")
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def http_json(url, **kw):
    """(status, headers, parsed JSON body or None)."""
    status, headers, data = http(url, **kw)
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = None
    return status, headers, doc


def children_of(pid, name=None):
    """Live pids whose parent is PID (and whose command name starts with NAME)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        # A zombie has already ended: it is nobody's live child.
        if int(ppid) == pid and state != "Z" and (name is None or comm.startswith(name[:15])):
            found.append(int(entry))
    return sorted(found)


def rss_kib(pid, field="VmRSS"):
    """PID's resident size in KiB; field="VmHWM" for its peak so far."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def responder_env(services, extra=None):
    """The environment a test responder runs with: the session's services,
    a test JWT secret, the debug routes, and no rate limits (tests that want
    them turn them on)."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": services["DATABASE_URL"],
        "REDIS_URL": services["REDIS_URL"],
        "SUPABASE_JWT_SECRET": "test-secret-for-the-responder-tests-0123456789",
        "PP_TEST_ROUTES": "1",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "info",
        "SHUTDOWN_TIMEOUT": "10",
    })
    env.update(extra or {})
    return env


class _Stoppable:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Responder(_Stoppable):
    """podcastpro-fcgi on a unix socket in DIRECTORY. Use the constructors
    listen(), spawn_fcgi() and systemd()."""

    def __init__(self, directory, mode, env, processes, threads, name="responder"):
        self.dir = str(directory)
        self.mode = mode
        self.env = env
        self.processes = processes
        self.threads = threads
        self.socket = os.path.join(self.dir, name + ".sock")
        # Local storage where a web server can reach it (X-Accel-Redirect):
        # pass storage_dir=app.storage_dir to Nginx.
        self.storage_dir = env.get("STORAGE_DIR") or _www_data_dir(os.path.join(self.dir, "storage"))
        env["STORAGE_DIR"] = self.storage_dir
        self.log_path = os.path.join(self.dir, name + ".log")
        self.proc = None          # supervisor or launcher (Proc)
        self._spawned = []        # spawn-fcgi children
        self._sock = None

    @property
    def acceptors(self):
        return self.processes * self.threads

    @classmethod
    def listen(cls, directory, services, processes=2, threads=2, env=None, args=()):
        r = cls(directory, "listen", responder_env(services, env), processes, threads)
        r.proc = pp.Proc([pp.binary("podcastpro-fcgi"), "--listen", "unix:" + r.socket,
                          "--socket-mode", "0666", "--processes", str(processes),
                          "--threads", str(threads), *args], env=r.env, log=r.log_path)
        r._ready_or_stop()
        return r

    @classmethod
    def spawn_fcgi(cls, directory, services, children=2, threads=2, env=None):
        r = cls(directory, "spawn-fcgi", responder_env(services, env), children, threads)
        # spawn-fcgi gives its children no stderr: they log to a file.
        r.env["LOG_FILE"] = r.log_path
        pidfile = os.path.join(r.dir, "spawn-fcgi.pid")
        # spawn-fcgi forks the children and exits; they keep our stderr.
        with open(r.log_path, "ab") as log:
            subprocess.run(["spawn-fcgi", "-s", r.socket, "-M", "0666", "-F", str(children),
                            "-P", pidfile, "--", pp.binary("podcastpro-fcgi"),
                            "--threads", str(threads)],
                           env=r.env, stdout=log, stderr=subprocess.STDOUT, check=True)
        with open(pidfile) as f:
            r._spawned = [int(x) for x in f.read().split()]
        r._ready_or_stop()
        return r

    @classmethod
    def systemd(cls, directory, services, processes=2, threads=2, env=None):
        """As systemd socket activation starts it: the socket on fd 3,
        LISTEN_FDS=1 and LISTEN_PID set to the program's own pid."""
        r = cls(directory, "systemd", responder_env(services, env), processes, threads)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(r.socket)
        os.chmod(r.socket, 0o666)
        sock.listen(128)
        r._sock = sock
        fd = sock.fileno()
        env = dict(r.env, LISTEN_FDS="1", PP_SOCKET_FD=str(fd))
        # A tiny launcher moves the socket to fd 3 and sets LISTEN_PID to its
        # own pid, which exec keeps: as systemd starts a socket-activated unit.
        launcher = ("import os, sys\n"
                    "fd = int(os.environ.pop('PP_SOCKET_FD'))\n"
                    "if fd != 3:\n"
                    "    os.dup2(fd, 3)\n"
                    "    os.close(fd)\n"
                    "os.set_inheritable(3, True)\n"
                    "os.environ['LISTEN_PID'] = str(os.getpid())\n"
                    "os.execv(sys.argv[1], sys.argv[1:])\n")
        argv = [sys.executable, "-c", launcher, pp.binary("podcastpro-fcgi"),
                "--processes", str(processes), "--threads", str(threads)]
        log = open(r.log_path, "ab")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                pass_fds=(fd,))
        log.close()
        wrapper = pp.Proc.__new__(pp.Proc)
        wrapper.argv, wrapper.log_path, wrapper.proc, wrapper.pid = argv, r.log_path, proc, proc.pid
        r.proc = wrapper
        r._ready_or_stop()
        return r

    def supervisor_pid(self):
        return self.proc.pid if self.proc is not None else None

    def pids(self):
        """The processes serving requests."""
        if self.mode == "spawn-fcgi":
            return [p for p in self._spawned if pid_alive(p)]
        return [p for p in children_of(self.proc.pid, "podcastpro-fcgi") if pid_alive(p)]

    def _ready_or_stop(self):
        """Waits for the processes; stops what started if they never serve."""
        try:
            self._wait_ready()
        except Exception:
            self.stop(timeout=5)
            raise

    def _wait_ready(self, timeout=20.0):
        def ready():
            if self.proc is not None and not self.proc.alive():
                return "exited"
            return self.log_text().count("serving with") >= self.processes
        try:
            state = pp.wait_for(ready, timeout, what="responder processes to serve")
        except TimeoutError:
            state = "not ready"
        if state is not True:
            raise RuntimeError(f"responder {state}:\n" + self.log_text()[-3000:])

    def wait_processes(self, count=None, exclude=(), timeout=20.0):
        """Waits until COUNT processes (default: all) not in EXCLUDE serve."""
        want = count if count is not None else self.processes

        def enough():
            now = [p for p in self.pids() if p not in exclude]
            return now if len(now) >= want else None
        return pp.wait_for(enough, timeout, what=f"{want} responder processes")

    def signal(self, sig):
        if self.mode == "spawn-fcgi":
            for p in self.pids():
                os.kill(p, sig)
        else:
            self.proc.signal(sig)

    def stop(self, timeout=30.0):
        if self.mode == "spawn-fcgi":
            for p in self.pids():
                try:
                    os.kill(p, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + timeout
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
            for p in self.pids():
                os.kill(p, signal.SIGKILL)
            status = 0
        else:
            status = self.proc.stop(timeout) if self.proc is not None else 0
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        return status


def _www_data_dir(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777)
    return path


def write_nginx_main(d, worker_connections=2048):
    """DIR/nginx.conf: a foreground nginx keeping its pid, logs and
    temporaries in DIR, serving DIR/site.conf (also tests/cluster)."""
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""user www-data;
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
	access_log off;
	client_body_temp_path {d}/client_body;
	fastcgi_temp_path {d}/fastcgi_temp;
	proxy_temp_path {d}/proxy_temp;
	uwsgi_temp_path {d}/uwsgi_temp;
	scgi_temp_path {d}/scgi_temp;
	include {d}/site.conf;
}}
""")


class Nginx(_Stoppable):
    """nginx serving the shipped etc/nginx/podcast-pro.conf, with the socket,
    port and storage directory replaced. The shipped file keeps no upstream
    connections; keepalive=N adds "keepalive N" and fastcgi_keep_conn on, to
    test the responder with kept connections."""

    def __init__(self, directory, socket_path, keepalive=None, port=None, storage_dir=None,
                 metrics_port=None):
        self.dir = os.path.join(str(directory), "nginx")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = port or pp.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.dir, "error.log")
        storage = storage_dir or _www_data_dir(os.path.join(self.dir, "storage"))
        self.storage_dir = storage
        with open(NGINX_CONF) as f:
            site = f.read()
        assert SHIPPED_SOCKET in site and "listen 80;" in site and SHIPPED_STORAGE in site
        # The shipped metrics listener (doc/metrics.md), on a port of its own
        # (metrics_port= when a responder started first was told it).
        self.metrics_port = metrics_port or pp.free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}"
        assert "listen 127.0.0.1:9464;" in site
        site = site.replace("listen 127.0.0.1:9464;", f"listen 127.0.0.1:{self.metrics_port};")
        site = site.replace(SHIPPED_SOCKET, socket_path)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("listen [::]:80;", "")
        site = site.replace(SHIPPED_STORAGE, storage.rstrip("/") + "/")
        site = site.replace("include /etc/nginx/fastcgi_params;",
                            "include /etc/nginx/fastcgi_params;")
        assert "fastcgi_keep_conn off;" in site and "\tkeepalive " not in site
        lines = []
        for line in site.splitlines():
            if keepalive and line.startswith("upstream "):
                line += f"\n\tkeepalive {keepalive};"
            if keepalive and "fastcgi_keep_conn off;" in line:
                line = line.replace("off;", "on;")
            lines.append(line)
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")
        d = self.dir
        write_nginx_main(d)
        self.proc = pp.Proc(["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf"),
                             "-e", self.log_path], log=os.path.join(d, "stdout.log"))
        try:
            pp.wait_port(self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError("nginx did not start:\n" + self.log_text())

    def stop(self):
        return self.proc.stop(10, sig=signal.SIGQUIT)


class Lighttpd(_Stoppable):
    """lighttpd with the shipped etc/lighttpd/podcast-pro.conf, either in
    front of SOCKET_PATH (a responder started elsewhere) or starting the
    responder itself with bin-path and max-procs (BIN_ENV its environment)."""

    def __init__(self, directory, socket_path=None, bin_path=None, max_procs=2, bin_env=None,
                 port=None, storage_dir=None):
        # lighttpd opens its log after dropping to www-data.
        self.dir = _www_data_dir(os.path.join(str(directory), "lighttpd"))
        self.port = port or pp.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.dir, "error.log")
        self.bin_path = bin_path
        self.max_procs = max_procs
        docroot = _www_data_dir(os.path.join(self.dir, "docroot"))
        storage = storage_dir or _www_data_dir(os.path.join(self.dir, "storage"))
        self.storage_dir = storage
        with open(LIGHTTPD_CONF) as f:
            site = f.read()
        assert SHIPPED_SOCKET in site and SHIPPED_STORAGE in site
        site = site.replace(SHIPPED_STORAGE, storage + "/")
        if bin_path:
            # lighttpd starts it as www-data, who may not enter the build
            # directory (a checkout under /root is 0700): a copy of the
            # program beside lighttpd's files runs instead.
            copy = os.path.join(self.dir, os.path.basename(bin_path))
            shutil.copy(bin_path, copy)
            os.chmod(copy, 0o755)
            bin_path = self.bin_path = copy
            bin_env = dict(bin_env or {})
            bin_env.setdefault("STORAGE_DIR", storage)
            # lighttpd (as www-data) creates the socket: a writable directory.
            sockdir = _www_data_dir(os.path.join(self.dir, "sock"))
            env = ", ".join(f'"{k}" => "{v}"' for k, v in sorted((bin_env or {}).items()))
            site = site.replace(f'"socket" => "{SHIPPED_SOCKET}",',
                                f'"socket" => "{sockdir}/api.sock",\n'
                                f'\t\t"bin-path" => "{bin_path}",\n'
                                f'\t\t"max-procs" => {max_procs},\n'
                                f'\t\t"bin-environment" => ( {env} ),\n'
                                f'\t\t"bin-copy-environment" => ( "PATH", "ASAN_OPTIONS", '
                                f'"LSAN_OPTIONS", "UBSAN_OPTIONS" ),')
        else:
            site = site.replace(SHIPPED_SOCKET, socket_path)
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write(site)
        with open(os.path.join(self.dir, "lighttpd.conf"), "w") as f:
            f.write(f"""server.document-root = "{docroot}"
server.bind = "127.0.0.1"
server.port = {self.port}
server.username = "www-data"
server.groupname = "www-data"
server.errorlog = "{self.log_path}"
server.pid-file = "{self.dir}/lighttpd.pid"
server.max-fds = 4096
include "{self.dir}/site.conf"
""")
        self.proc = pp.Proc(["lighttpd", "-D", "-f", os.path.join(self.dir, "lighttpd.conf")],
                            log=os.path.join(self.dir, "stdout.log"))
        try:
            pp.wait_port(self.port)
            if bin_path:
                pp.wait_for(lambda: len(self.pids()) >= max_procs, 20,
                            what="lighttpd's responder processes")
        except (TimeoutError, RuntimeError):
            self.stop()
            raise RuntimeError("lighttpd did not start:\n" + self.log_text())

    def pids(self):
        """The responders lighttpd started (bin-path), else []."""
        if not self.bin_path:
            return []
        return [p for p in children_of(self.proc.pid, "podcastpro-fcgi") if pid_alive(p)]

    def stop(self):
        return self.proc.stop(15)


def behind_nginx(directory, services, processes=1, threads=2, env=None):
    """Responder.listen(...) with nginx in front of it, as shipped: (app,
    web), to be stopped by the caller; the responder is stopped if nginx
    does not start."""
    app = Responder.listen(directory, services, processes=processes, threads=threads, env=env)
    try:
        return app, Nginx(directory, app.socket)
    except Exception:
        app.stop()
        raise


def stop_all(*things):
    """Stops each thing that is not None, web servers first, ignoring errors."""
    for t in things:
        if t is not None:
            try:
                t.stop()
            except Exception:  # a failed test may leave it half started
                pass


def copy_logs(dest, *things):
    """Keeps the logs of THINGS under DEST (for a failing test's report)."""
    os.makedirs(dest, exist_ok=True)
    for t in things:
        if t is not None and getattr(t, "log_path", None) and os.path.exists(t.log_path):
            shutil.copy(t.log_path, os.path.join(dest, os.path.basename(t.log_path)))
