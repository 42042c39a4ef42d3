#!/usr/bin/env bash
# Job throughput and latency: podcastpro-worker against Celery 5, same Redis,
# same concurrency (2), same machine, same run. Loopback only; everything it
# starts is stopped by pid on exit.
#
#   bench/jobs.sh            N=20000 LAT_N=200 RSS_N=100000 CELERY=1
#
# Prints: end-to-end no-op jobs/s for both and the ratio (target >= 10x),
# median enqueue-to-start latency on an idle worker (target < 0.5 ms), and the
# worker master's RSS before and after RSS_N jobs (target <= 16 MiB, no growth).
# BUILDDIR (default build/bench) is configured without debug flags (-O2).
set -u -o pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
PY=/usr/bin/python3
N=${N:-20000} LAT_N=${LAT_N:-200} RSS_N=${RSS_N:-100000} CELERY=${CELERY:-1}
BUILDDIR=${BUILDDIR:-$top/build/bench}
PYREF=${PYREF:-$top/../shared/bench/pyref}

log() { printf '[%5.1fs] %s\n' "$SECONDS" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

if [ ! -x "$BUILDDIR/podcastpro-worker" ] || [ ! -x "$BUILDDIR/podcastpro-job" ]; then
	log "building $BUILDDIR (-O2)"
	mkdir -p "$BUILDDIR"
	( cd "$BUILDDIR" && { [ -f Makefile ] || "$top/configure" -q; } && make -j"$(nproc)" podcastpro-worker podcastpro-job >make.log 2>&1 ) \
		|| die "build failed (see $BUILDDIR/make.log)"
fi

tmp=$(mktemp -d /tmp/pp-bench-jobs.XXXXXX) || exit 1
PIDS=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
	--logfile "$tmp/redis.log" &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export REDIS_URL=redis://127.0.0.1:$port/0
# The worker requires DATABASE_URL; ping never connects to it.
export BENCH_TMP=$tmp DATABASE_URL=postgresql://127.0.0.1:1/unused SWEEPER_INTERVAL=86400 LOG_LEVEL=warning

# The measuring client: enqueues envelopes (src/queue.h) and watches Redis.
cat > "$tmp/client.py" <<'PY'
import json, os, statistics, sys, time, uuid
import redis

r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
STREAM = "pp:q:default"

def env(i=0):
    return json.dumps({"id": uuid.uuid4().hex.upper()[:26], "task": "ping", "args": {},
                       "queue": "default", "attempt": 1, "enqueued_at": time.time()})

def enqueue(n):
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(STREAM, {"job": env()})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()

def drained():
    # Acked entries are deleted: an empty stream means every job finished.
    return r.xlen(STREAM) == 0

def wait_drained(timeout=600):
    end = time.time() + timeout
    while not drained():
        if time.time() > end:
            sys.exit("timed out waiting for the queue to drain")
        time.sleep(0.002)

cmd = sys.argv[1]
if cmd == "lat":
    n = int(sys.argv[2])
    last = (r.xrevrange("pp:events", count=1) or [("0-0", None)])[0][0]
    lat = []
    for _ in range(n + 20):
        time.sleep(0.002)   # an idle worker, not a queue
        body = env()
        jid = json.loads(body)["id"]
        r.xadd(STREAM, {"job": body})
        got = None
        while got is None:
            for _, entries in r.xread({"pp:events": last}, block=5000) or []:
                for eid, f in entries:
                    last = eid
                    if f.get("id") == jid and f.get("event") == "succeeded":
                        got = float(f["latency"]) * 1000.0
        lat.append(got)
    lat = sorted(lat[20:])
    print(f"LAT_P50_MS={statistics.median(lat):.3f} LAT_P99_MS={lat[int(len(lat) * 0.99) - 1]:.3f}")
elif cmd == "burst":
    # A C producer (redis-cli --pipe) as the responder is one; the commands
    # are prepared before the clock starts.
    import subprocess
    n = int(sys.argv[2])
    path = os.path.join(os.environ["BENCH_TMP"], "burst.resp")
    with open(path, "wb") as f:
        for _ in range(n):
            args = [b"XADD", STREAM.encode(), b"*", b"job", env().encode()]
            f.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    host, port = r.connection_pool.connection_kwargs["host"], r.connection_pool.connection_kwargs["port"]
    t0 = time.time()
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-h", host, "-p", str(port), "--pipe"], stdin=f, check=True,
                       stdout=subprocess.DEVNULL)
    t1 = time.time()
    wait_drained()
    t2 = time.time()
    print(f"E2E_PER_S={n / (t2 - t0):.0f} ENQUEUE_PER_S={n / (t1 - t0):.0f} E2E_S={t2 - t0:.2f}")
elif cmd == "fill":
    enqueue(int(sys.argv[2]))
elif cmd == "drain":
    t_start = float(sys.argv[3])
    wait_drained()
    print(f"PREFILL_PER_S={int(sys.argv[2]) / (time.time() - t_start):.0f}")
PY

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Anonymous memory (heap, stacks): what the master allocates itself; the
# rest of its RSS is shared library text (RssFile), shared with its children.
uss_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
file_kib() { awk '/^RssFile/ {print $2}' "/proc/$1/status"; }
start_worker() {
	"$BUILDDIR/podcastpro-worker" -Q default -c 2 -n "bench@%h" >>"$tmp/worker.log" 2>&1 &
	WPID=$!; PIDS+=($WPID)
	for _ in $(seq 100); do redis-cli -p "$port" exists "pp:worker:bench@$(hostname)" | grep -q 1 && break; sleep 0.05; done
	kill -0 "$WPID" 2>/dev/null || die "podcastpro-worker did not start: $(tail -3 "$tmp/worker.log")"
}
stop_worker() { kill -TERM "$WPID"; wait "$WPID" 2>/dev/null; }

log "podcastpro-worker: $LAT_N sequential pings on an idle worker"
start_worker
$PY "$tmp/client.py" burst 200 >/dev/null   # warm-up
eval "$($PY "$tmp/client.py" lat "$LAT_N")"
PP_LAT=$LAT_P50_MS PP_LAT99=$LAT_P99_MS
log "podcastpro-worker: $N pings enqueued while it runs"
eval "$($PY "$tmp/client.py" burst "$N")"
PP_E2E=$E2E_PER_S PP_ENQ=$ENQUEUE_PER_S PP_E2E_S=$E2E_S
stop_worker
log "podcastpro-worker: $N pings queued first, then the worker started"
$PY "$tmp/client.py" fill "$N"
t_start=$($PY -c 'import time; print(time.time())')
start_worker
eval "$($PY "$tmp/client.py" drain "$N" "$t_start")"
PP_PREFILL=$PREFILL_PER_S
rss_before=$(rss_kib "$WPID") uss_before=$(uss_kib "$WPID")
log "podcastpro-worker: $RSS_N more pings for the master's RSS"
done_n=0
while [ "$done_n" -lt "$RSS_N" ]; do
	$PY "$tmp/client.py" burst 20000 >/dev/null || die "burst failed"
	done_n=$((done_n + 20000))
done
rss_after=$(rss_kib "$WPID") uss_after=$(uss_kib "$WPID") file_after=$(file_kib "$WPID")
stop_worker

CEL_LAT=- CEL_E2E=- CEL_PREFILL=-
if [ "$CELERY" = 1 ]; then
	$PY -c 'import celery' 2>/dev/null || die "Celery missing: apt-get install python3-celery"
	[ -f "$PYREF/tasks.py" ] || die "no Celery app at $PYREF (set PYREF)"
	log "celery: same Redis, prefork -c 2; $LAT_N sequential no-ops, then bursts of $N"
	( cd "$PYREF" && exec $PY -m celery -A tasks worker -P prefork -c 2 -Q default,podcasts \
		-l WARNING -n "benchjobs@%h" >"$tmp/celery.log" 2>&1 ) &
	PIDS+=($!)
	( cd "$PYREF" && timeout 120 $PY benchtool.py ping 60 >/dev/null 2>&1 ) || die "celery does not answer"
	if out=$(cd "$PYREF" && timeout 600 $PY benchtool.py celery "$N" "$LAT_N" 2>"$tmp/celery-client.log"); then
		eval "$(echo "$out" | tr ' ' '\n' | grep -E '^[A-Z0-9_]+=[0-9.a-z-]+$')"
		CEL_LAT=$IDLE_LAT_P50_MS CEL_E2E=$E2E_PER_S CEL_PREFILL=${WORKER_PER_S:--}
	else
		log "celery bench failed: $(tail -3 "$tmp/celery-client.log" | tr '\n' ' ')"
	fi
fi

ratio() { $PY -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.1f}x' if '-' not in (a,b) and float(b) else '-')" "$1" "$2"; }
echo
printf '%-48s %14s %14s %8s\n' "" "podcastpro" "celery" "ratio"
printf '%-48s %14s %14s %8s\n' "no-op jobs/s end to end ($N, enqueue while running)" "$PP_E2E" "$CEL_E2E" "$(ratio "$PP_E2E" "$CEL_E2E")"
printf '%-48s %14s %14s %8s\n' "no-op jobs/s, pre-filled queue ($N)" "$PP_PREFILL" "$CEL_PREFILL" "$(ratio "$PP_PREFILL" "$CEL_PREFILL")"
printf '%-48s %14s %14s %8s\n' "enqueue->start p50 ms, idle worker ($LAT_N)" "$PP_LAT" "$CEL_LAT" "$(ratio "$CEL_LAT" "$PP_LAT")"
printf '%-48s %14s\n' "enqueue->start p99 ms, idle worker" "$PP_LAT99"
printf '%-48s %14s\n' "producer enqueue rate/s (redis-cli --pipe)" "$PP_ENQ"
printf '%-48s %14s\n' "worker master RSS MiB before / after $RSS_N jobs" \
	"$(awk -v a="$rss_before" -v b="$rss_after" 'BEGIN {printf "%.1f / %.1f", a/1024, b/1024}')"
printf '%-48s %14s\n' "  of which library text (RssFile) MiB" "$(awk -v a="$file_after" 'BEGIN {printf "%.1f", a/1024}')"
printf '%-48s %14s\n' "worker master anonymous MiB before / after" \
	"$(awk -v a="$uss_before" -v b="$uss_after" 'BEGIN {printf "%.1f / %.1f", a/1024, b/1024}')"
