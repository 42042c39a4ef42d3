"""Scale-out and failover across simulated hosts (issue 13, doc/scaling.md):
network namespaces with real nginx, responders, workers, Redis + Sentinel,
PostgreSQL primary + streaming replica and PgBouncer (cluster.py). Run by
script/test-cluster only (root, minutes); script/test does not collect it.

Each scenario runs twice: the programs straight on PostgreSQL, and behind
PgBouncer in transaction mode (DB_TRANSACTION_POOLER=true). The scenarios
share one cluster per mode, in this order (each leaves the cluster
degraded the way the next one expects): Redis master killed, an API host
and a worker host lost, the PostgreSQL replica stopped."""
import collections
import re
import time

import pytest

from cluster import Cluster, pp

POST_CONNECTIONS = 2


@pytest.fixture(scope="module", params=[False, True], ids=["direct", "pgbouncer"])
def cluster(request, tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), pooler=request.param)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def statuses(c, owner_token=None):
    rows = c.psql("SELECT status, count(*) FROM podcasts GROUP BY status ORDER BY 1")
    return {s: int(n) for s, n in (line.split("|") for line in rows.splitlines() if line)}


def wait_all_complete(c, timeout=240):
    """Waits until no podcast is pending or processing; returns the counts."""
    def settled():
        s = statuses(c)
        return s if not s.get("pending") and not s.get("processing") else None
    try:
        return pp.wait_for(settled, timeout, 1.0, "every podcast to complete")
    except TimeoutError:
        return statuses(c)


def runs_per_podcast(c):
    """How many runs of each podcast began (worker logs: a run fetches the
    document, or takes up the script a previous run saved), and how many
    deliveries found it complete already."""
    logs = c.worker_logs()
    runs = collections.Counter(re.findall(r"podcast (\w+): (?:fetching|reusing the saved script)$", logs, re.M))
    already = len(re.findall(r"podcast \w+: already complete", logs))
    return runs, already


def load(c, token, url, seconds):
    """wrk on the load balancer host: POST /podcasts/ on 2 connections
    (~2/s each) and GET /podcasts/ on 4 (a 10 ms pause each)."""
    post = c.wrk("post", "/podcasts/", token, seconds, connections=POST_CONNECTIONS, delay_ms=500,
                 body={"original_file_url": url, "requirements": None})
    get = c.wrk("get", "/podcasts/", token, seconds, connections=4, delay_ms=10)
    return post, get


def report(name, c, post, get):
    pc, prps, perr, _ = Cluster.wrk_result(post)
    gc, grps, gerr, _ = Cluster.wrk_result(get)
    print(f"\n[{name}, {'pgbouncer' if c.pooler else 'direct'}] POST /podcasts/ by status {dict(pc)} "
          f"socket errors {perr}; GET /podcasts/ by status {dict(gc)} ({grps:.0f} req/s) socket errors {gerr}")
    return pc, gc, perr + gerr


def check_nothing_lost(name, c, created):
    s = wait_all_complete(c)
    runs, already = runs_per_podcast(c)
    twice = sum(1 for n in runs.values() if n > 1)
    total = sum(s.values())
    lost = total - s.get("complete", 0)
    print(f"[{name}] podcasts: {total} rows so far in the cluster ({created} answered 202 in this test), "
          f"by status {s}; lost {lost}; "
          f"runs {sum(runs.values())}, run twice {twice}, deliveries that found it complete {already}")
    assert total >= created
    assert lost == 0, s
    assert sum(runs.values()) >= s.get("complete", 0)    # the logs were read
    return twice


def test_redis_master_killed_under_load(cluster):
    c = cluster
    token, url = c.user()
    post, get = load(c, token, url, 24)
    time.sleep(6)
    assert c.sentinel_master() == "redis1"
    t0 = time.monotonic()
    c.kill_proc("redis1", "redis")
    pp.wait_for(lambda: c.sentinel_master() == "redis2", 30, 0.05, "the sentinels to promote redis2")
    t_promoted = time.monotonic() - t0
    c.redis_master = "redis2"
    pp.wait_for(lambda: c.get("/health/ready")[0] == 200, 30, 0.1, "/health/ready 200 through the LB")
    t_ready = time.monotonic() - t0
    t_enqueued, made, _ = c.first_enqueued(token, url, t0)
    print(f"\n[redis failover] promoted {t_promoted:.2f} s after kill -9, /health/ready 200 after "
          f"{t_ready:.2f} s, a POST /podcasts/ enqueued at once (job_id in its row) after {t_enqueued:.2f} s")
    pc, gc, sock = report("redis failover", c, post, get)
    assert set(pc) <= {202, 503} and set(gc) <= {200, 503}, (pc, gc)
    assert sock == 0
    check_nothing_lost("redis failover", c, pc.get(202, 0) + made)


def test_api_host_and_worker_host_lost(cluster):
    c = cluster
    token, url = c.user()
    # Longer than fail_timeout (10 s) after the kill: nginx tries the dead
    # host again then, and must give up on it within fastcgi_connect_timeout.
    post, get = load(c, token, url, 32)
    time.sleep(5)

    # w2 is killed with a podcast running: w1 must reclaim it.
    def running_on_w2():
        log = c.worker_logs("w2")
        started = set(re.findall(r"podcast (\w+): \d+ characters of text", log))
        return started - set(re.findall(r"podcast (\w+): complete", log))
    held = pp.wait_for(running_on_w2, 15, 0.02, "a podcast running on w2")
    c.kill_host("api3")
    c.kill_host("w2")
    pc, gc, sock = report("api3 + w2 lost", c, post, get)
    assert set(gc) == {200}, gc
    # A POST in flight on api3 when it died is not sent again (not
    # idempotent): at most one per connection fails.
    failed = sum(n for code, n in pc.items() if code != 202)
    assert failed <= POST_CONNECTIONS, pc
    assert sock == 0
    twice = check_nothing_lost("api3 + w2 lost", c, pc.get(202, 0))
    for podcast in held:
        assert re.search(rf"podcast {podcast}: complete", c.worker_logs("w1")), podcast
    print(f"[api3 + w2 lost] w2 died running {sorted(held)}: w1 reclaimed and completed them")
    assert twice >= len(held)


def replica_reads(c):
    """Transactions the replica ran in our database (its own statistics)."""
    return int(c.psql("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                      host="pg2"))


def test_replica_stopped(cluster):
    c = cluster
    token, url = c.user()
    # Reads of a user who wrote nothing lately go to the replica (its
    # statistics count them; they are flushed about once a second).
    time.sleep(4)
    before = replica_reads(c)
    get = c.wrk("get-replica", "/podcasts/", token, 12, connections=4, delay_ms=10)
    pp.wait_for(lambda: replica_reads(c) - before > 200, 10, 0.2, "reads on the replica")
    served = replica_reads(c) - before
    for p in c.procs["pg2"]:
        if p.name == "postgres":
            p.stop(30, sig=2)     # SIGINT: fast shutdown
    counts, rps, sock, _ = Cluster.wrk_result(get)
    print(f"\n[replica stopped, {'pgbouncer' if c.pooler else 'direct'}] the replica served {served}+ "
          f"transactions before it stopped; GET /podcasts/ by status {dict(counts)} ({rps:.0f} req/s), "
          f"socket errors {sock}")
    assert set(counts) == {200} and sock == 0, counts
