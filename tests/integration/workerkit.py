"""Helpers for the worker's integration tests (test_worker*.py): start
podcastpro-worker, enqueue envelopes straight into Redis (the format of
src/queue.h, also a check that another language can produce it), read
events and run podcastpro-ctl."""
import contextlib
import json
import os
import subprocess
import time
import uuid

import redis

import pp
from servers import children_of

# Settings every worker under test gets: no sweeper tick, quick heartbeats,
# the test tasks (test.*) enabled, and any GLib critical warning fatal (a
# GSource misused on a Redis reconnect once printed one each time).
BASE_ENV = {
    "SWEEPER_INTERVAL": "86400",
    "LOG_LEVEL": "info",
    "REDIS_TIMEOUT_MS": "1000",
    "PP_TEST_TASKS": "1",
    "G_DEBUG": "fatal-criticals",
}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def env_for(services, redis_url=None, **settings):
    env = dict(os.environ)
    env.update(BASE_ENV)
    env["DATABASE_URL"] = services["DATABASE_URL"]
    env["REDIS_URL"] = redis_url or services["REDIS_URL"]
    env.update({k: str(v) for k, v in settings.items()})
    # ASan: children _exit() without leak checks; the master must be clean.
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    return env


class Worker(pp.Proc):
    def __init__(self, tmp, env, queues, name, concurrency=2, args=(), log_name=None):
        self.name = name
        self.queues = queues
        log = os.path.join(str(tmp), (log_name or name) + ".log")
        argv = [pp.binary("podcastpro-worker"), "-Q", ",".join(queues), "-c", str(concurrency),
                "-n", name, *args]
        super().__init__(argv, env=env, log=log)

    def children(self):
        return children_of(self.pid)


def client(url):
    return redis.Redis.from_url(url, decode_responses=True)


@contextlib.contextmanager
def scratch_db(services, db):
    """Database DB of the test Redis, emptied on entry and on exit: yields
    its URL (a fixture body: `with wk.scratch_db(services, 7) as url: yield url`)."""
    url = services["REDIS_URL"].rsplit("/", 1)[0] + f"/{db}"
    r = client(url)
    r.flushdb()
    try:
        yield url
    finally:
        r.flushdb()
        r.close()


def envelope(task, args, queue, attempt=1, job_id=None):
    return {"id": job_id or uuid.uuid4().hex.upper()[:26], "task": task, "args": args, "queue": queue,
            "attempt": attempt, "enqueued_at": time.time()}


def enqueue_many(r, jobs):
    """XADDs each envelope to its queue's stream in one pipeline; returns ids."""
    pipe = r.pipeline(transaction=False)
    for env in jobs:
        pipe.xadd("pp:q:" + env["queue"], {"job": json.dumps(env)})
    pipe.execute()
    return [env["id"] for env in jobs]


def events_since(r, start_id="-"):
    """Every event after START_ID as dicts (with "_id")."""
    out = []
    for eid, fields in r.xrange("pp:events", min=start_id, max="+"):
        fields["_id"] = eid
        out.append(fields)
    return out


def last_event_id(r):
    last = r.xrevrange("pp:events", count=1)
    return last[0][0] if last else "0-0"


def events_for(r, start_id, job_id):
    return [e for e in events_since(r, start_id) if e.get("id") == job_id]


def ctl(env, *args, check=True, timeout=30):
    res = subprocess.run([pp.binary("podcastpro-ctl"), *args], env=env, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"podcastpro-ctl {' '.join(args)}: {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res


def wait_event(r, start_id, job_id, event, timeout=20.0, attempt=None):
    def found():
        for e in events_for(r, start_id, job_id):
            if e["event"] == event and (attempt is None or e.get("attempt") == str(attempt)):
                return e
        return None
    return pp.wait_for(found, timeout, 0.05, f"event {event} of job {job_id}")


def wait_state(r, name, timeout=15.0):
    def state():
        text = r.get("pp:worker:" + name)
        return json.loads(text) if text else None
    return pp.wait_for(state, timeout, 0.1, f"worker {name} to publish its state")
