"""Integration test fixtures: real PostgreSQL and Redis on loopback.

script/test starts one PostgreSQL and one Redis for the whole run and
passes PP_SERVICES_ENV (the env file script/services writes). Run alone,
pytest starts its own under a temporary directory and stops them at the end.
Servers a test needs for itself (nginx, lighttpd, the responder, the worker)
come from servers.py.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

import pp


@pytest.fixture(scope="session")
def services():
    """DATABASE_URL, REDIS_URL and friends for the session's PostgreSQL and Redis."""
    given = os.environ.get("PP_SERVICES_ENV")
    if given:
        yield pp.read_env_file(given)
        return
    tmp = tempfile.mkdtemp(prefix="pp-services-")
    env = dict(os.environ, PP_PG_FSYNC="off")
    subprocess.run([os.path.join(pp.ROOT, "script", "services"), "start", tmp], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    try:
        yield pp.read_env_file(os.path.join(tmp, "env"))
    finally:
        subprocess.run([os.path.join(pp.ROOT, "script", "services"), "stop", tmp], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def tmpdir_world(tmp_path):
    """A temp dir readable by other users (nginx workers run as www-data)."""
    os.chmod(tmp_path, 0o755)
    parent = tmp_path.parent
    while parent != parent.parent and str(parent).startswith(tempfile.gettempdir()):
        try:
            os.chmod(parent, os.stat(parent).st_mode | 0o055)
        except PermissionError:
            break
        parent = parent.parent
    return tmp_path
