"""bench/cluster.sh's measurements on the simulated hosts of cluster.py:
requests/s of GET /podcasts/ through the load balancer with 1, 2 and 3 API
hosts, and the Redis failover time over RUNS kills of the master."""
import statistics
import sys
import time

from cluster import API_HOSTS, Cluster, pp


def wait_complete(c, podcast_id, timeout=60):
    pp.wait_for(lambda: c.psql(f"SELECT status FROM podcasts WHERE id = '{podcast_id}'") == "complete",
                timeout, 0.05, f"podcast {podcast_id} to complete")


def main(seconds, runs, connections):
    c = Cluster("/tmp/pp-cluster-bench-logs", log=lambda m: print("# " + m, flush=True))
    try:
        c.start()
        token, url = c.user()
        ids = [c.create(token, url)[1]["id"] for _ in range(20)]
        for i in ids:
            wait_complete(c, i, 120)
        print(f"== GET /podcasts/ (20 rows) through nginx on lb, wrk -t2 -c{connections} -d{seconds}s")
        print("API hosts | req/s | non-2xx | socket errors")
        for n in (1, 2, 3):
            c.set_api_hosts(API_HOSTS[:n])
            w = c.wrk(f"bench{n}", "/podcasts/", token, seconds, connections=connections, threads=2)
            counts, rps, errors, _ = Cluster.wrk_result(w)
            bad = sum(v for k, v in counts.items() if not 200 <= k < 300)
            print(f"{n} | {rps:.0f} | {bad} | {errors}", flush=True)
        print("(every host is a namespace on the same cores: a host more adds acceptors (2 processes x 2")
        print(" threads each) and a network hop, not CPU: this is not scaling; what it shows is that")
        print(" spreading over hosts costs nothing measurable, and that 4 acceptors queue 32 connections)")

        print(f"== Redis failover: kill -9 of the master, {runs} runs (seconds after the kill)")
        print("run | promoted | POST enqueued | that podcast complete")
        promoted, enqueued, done = [], [], []
        for r in range(runs):
            old = c.redis_master
            new = "redis2" if old == "redis1" else "redis1"
            t0 = time.monotonic()
            c.kill_proc(old, "redis")
            pp.wait_for(lambda: c.sentinel_master() == new, 30, 0.02, "the promotion")
            promoted.append(time.monotonic() - t0)
            c.redis_master = new
            t, _, pid = c.first_enqueued(token, url, t0)
            enqueued.append(t)
            wait_complete(c, pid)
            done.append(time.monotonic() - t0)
            print(f"{r + 1} | {promoted[-1]:.2f} | {enqueued[-1]:.2f} | {done[-1]:.2f}", flush=True)
            c.restart_redis_as_replica(old)
        for name, v in (("promoted", promoted), ("POST enqueued", enqueued), ("podcast complete", done)):
            print(f"{name}: min {min(v):.2f} s, median {statistics.median(v):.2f} s, max {max(v):.2f} s")
    finally:
        c.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
