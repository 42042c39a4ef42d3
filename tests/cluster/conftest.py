"""The cluster tests need root (network namespaces) and Debian's servers."""
import os
import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    missing = [p for p in ("ip", "nginx", "redis-server", "wrk", "curl", "setpriv", "/usr/sbin/pgbouncer")
               if shutil.which(p) is None]
    reason = None
    if os.getuid() != 0:
        reason = "needs root (network namespaces)"
    elif missing:
        reason = "missing: " + ", ".join(missing)
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))
