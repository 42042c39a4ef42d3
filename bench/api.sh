#!/bin/bash
# Authenticated GET /podcasts/ (20 rows) and POST /podcasts/ (create +
# enqueue) through nginx, ours side by side with the Python reference
# (../shared/bench/pyref, its nginx -> gunicorn x2 stack kept up with its
# HOLD mode) in the same run, same concurrency, same database size (one
# user, 20 podcasts, fsync on in both PostgreSQLs). Prints req/s, p99 and
# errors of each, the ratios, and checks that every podcast our POST run
# created was enqueued exactly once.
#
# Usage: bench/api.sh
# Env: PP_BUILDDIR (default build/plain: an optimised build without
#      sanitizers), D (5 s per run), C (32 connections), T (2 wrk threads),
#      PROCESSES (2), THREADS (2), PYREF (../shared/bench/pyref; PYREF=
#      skips it), PYREF_WAIT (240 s for its stack to come up), KEEP_LOGS (a
#      directory to copy the logs to before the temp dir is removed).
# Needs: nginx, wrk, curl, PostgreSQL, redis-server; for pyref the Debian
#      packages its README lists.
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${PP_BUILDDIR:-$root/build/plain}
D=${D:-5} C=${C:-32} T=${T:-2}
processes=${PROCESSES:-2} threads=${THREADS:-2}
pyref=${PYREF-$root/../shared/bench/pyref}
fcgi=$builddir/podcastpro-fcgi ctl=$builddir/podcastpro-ctl
[ -x "$fcgi" ] && [ -x "$ctl" ] || { echo "api.sh: build first (no $fcgi), or set PP_BUILDDIR" >&2; exit 2; }
if strings "$fcgi" 2>/dev/null | grep -q __asan_init; then
	echo "api.sh: warning: $fcgi is built with sanitizers; figures will be low" >&2
fi

tmp=$(mktemp -d /tmp/pp-api-bench.XXXXXX) || exit 1
chmod 755 "$tmp"
pyref_pid=
log() { printf '[%5ds] %s\n' "$SECONDS" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
cleanup() {
	trap - EXIT INT TERM
	if [ -n "${KEEP_LOGS:-}" ]; then
		mkdir -p "$KEEP_LOGS" && cp "$tmp"/*.log "$tmp"/*.err "$tmp"/*.out "$KEEP_LOGS"/ 2>/dev/null
	fi
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	[ -f "$tmp/api.pid" ] && kill "$(cat "$tmp/api.pid")" 2>/dev/null
	"$root/script/services" stop "$tmp/svc" >/dev/null 2>&1
	# pyref's bench.sh stops everything it started when it gets TERM.
	if [ -n "$pyref_pid" ] && kill -0 "$pyref_pid" 2>/dev/null; then
		kill -TERM "$pyref_pid" 2>/dev/null
		for _ in $(seq 300); do kill -0 "$pyref_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	sleep 0.3
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ------------------------------------------------------------ pyref, in the background
if [ -n "$pyref" ] && [ -f "$pyref/bench.sh" ] && /usr/bin/python3 -c 'import fastapi, celery, sqlalchemy' 2>/dev/null; then
	log "starting pyref (HOLD mode)"
	( cd "$pyref" && HOLD=1800 HOLD_ENV="$tmp/pyref.env" exec setsid bash ./bench.sh ) > "$tmp/pyref.log" 2>&1 &
	pyref_pid=$!
else
	log "pyref not available (PYREF unset, or python3-fastapi/celery/sqlalchemy missing): ours only"
	pyref=
fi

# ------------------------------------------------------------ ours
log "starting PostgreSQL and Redis"
"$root/script/services" start "$tmp/svc" > /dev/null || die "services did not start"
. "$tmp/svc/env"
export DATABASE_URL REDIS_URL
MIGRATIONS_DIR=$root/migrations "$ctl" migrate --dir "$root/migrations" > /dev/null || die "migrate failed"
psql_() { psql "$DATABASE_URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
sub=$(cat /proc/sys/kernel/random/uuid)
user_id=01JBENCHUSER00000000000000
psql_ -v sub="$sub" -v uid="$user_id" <<'SQL' || die "seeding failed"
INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created)
	VALUES (:'uid', 'bench@example.com', :'sub', 1000000000, 19);
INSERT INTO podcasts (id, owner_id, status, original_file_url, final_podcast_url, title, duration,
		requirements, created_at, job_id, enqueued_at)
	SELECT '01JBENCHPOD' || lpad(i::text, 15, '0'), :'uid',
		CASE WHEN i = 20 THEN 'pending' ELSE 'complete' END,
		'http://127.0.0.1/uploads/local/podcasts/' || :'sub' || '/20250101_000000_paper.pdf',
		CASE WHEN i = 20 THEN NULL ELSE 'http://127.0.0.1/uploads/local/podcasts/podcast_' || i || '.mp3' END,
		CASE WHEN i = 20 THEN NULL ELSE 'Episode ' || i END,
		CASE WHEN i = 20 THEN 0 ELSE 300 + i END,
		'Keep it friendly and under ten minutes', now() - (20 - i) * interval '1 minute',
		'01JBENCHJOB' || lpad(i::text, 15, '0'), now()
	FROM generate_series(1, 20) AS i;
SQL
port=$(free_port)
storage=$tmp/storage
mkdir -p "$storage/podcasts/$sub"
printf '%%PDF-1.4 bench\n' > "$storage/podcasts/$sub/20250101_000000_paper.pdf"
chmod -R a+rX "$storage"
secret=bench-only-secret-0123456789abcdef
log "starting podcastpro-fcgi ($processes x $threads) and nginx"
SUPABASE_JWT_SECRET=$secret STORAGE_DIR=$storage STORAGE_SECRET=bench-storage-secret-0123456789 \
PUBLIC_URL=http://127.0.0.1:$port RATE_LIMIT_ENABLED=false LOG_LEVEL=warning LOG_FILE=$tmp/api.log \
DB_POOL_SIZE=$threads DB_MAX_OVERFLOW=2 \
	"$fcgi" --listen "unix:$tmp/api.sock" --socket-mode 0666 \
	--processes "$processes" --threads "$threads" 2>"$tmp/api.err" &
echo $! > "$tmp/api.pid"
"$root/script/nginx-conf" "$tmp" "$tmp/api.sock" "$port" "$storage"
for _ in $(seq 200); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" || die "nginx did not start"
sleep 0.3
token=$(SUPABASE_JWT_SECRET=$secret "$ctl" token bench@example.com --sub "$sub" --ttl 7200) || die "no token"
ours=http://127.0.0.1:$port
n=$(curl -fsS -H "Authorization: Bearer $token" "$ours/podcasts/" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') \
	|| die "GET /podcasts/ does not answer: $(tail -5 "$tmp/api.err" "$tmp/api.log" 2>/dev/null)"
[ "$n" = 20 ] || die "GET /podcasts/ gave $n podcasts, not 20"
upload_url="$ours/uploads/local/podcasts/$sub/20250101_000000_paper.pdf"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d "{\"original_file_url\": \"$upload_url\", \"requirements\": \"check\"}" "$ours/podcasts/")
[ "$code" = 202 ] || die "POST /podcasts/ answered $code"
psql_ -c "DELETE FROM podcasts WHERE id NOT LIKE '01JBENCHPOD%'"
redis-cli -p "$PP_REDIS_PORT" DEL pp:q:podcasts > /dev/null
cat > "$tmp/ours-post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"original_file_url": "$upload_url", "requirements": "Keep it friendly and under ten minutes"}'
LUA

# ------------------------------------------------------------ wait for pyref
if [ -n "$pyref" ]; then
	log "waiting for pyref's stack (up to ${PYREF_WAIT:-240} s)"
	for _ in $(seq $(( ${PYREF_WAIT:-240} * 2 ))); do
		[ -s "$tmp/pyref.env" ] && break
		kill -0 "$pyref_pid" 2>/dev/null || break
		sleep 0.5
	done
	if [ -s "$tmp/pyref.env" ]; then
		# Only its ports and token: its DATABASE_URL and REDIS_URL are not ours.
		py_port=$(bash -c '. "$1"; echo "$P_NX_GU"' _ "$tmp/pyref.env")
		py_token=$(bash -c '. "$1"; echo "$TOKEN"' _ "$tmp/pyref.env")
		py=http://127.0.0.1:$py_port
		cat > "$tmp/py-post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $py_token"
wrk.body = '{"original_file_url": "https://podcast-pro-bench.s3.amazonaws.com/podcasts/5f1c2a9e/20250101_000000_paper.pdf", "requirements": "Keep it friendly and under ten minutes"}'
LUA
	else
		log "pyref did not come up: $(tail -3 "$tmp/pyref.log")"
		pyref=
	fi
fi

# ------------------------------------------------------------ measurements
: > "$tmp/results"
measure() { # name url [wrk args]
	local name=$1 url=$2
	shift 2
	wrk -t"$T" -c"$C" -d1s "$@" "$url" > /dev/null 2>&1   # warm-up, not recorded
	wrk -t"$T" -c"$C" -d"${D}s" --latency --timeout 10s "$@" "$url" > "$tmp/wrk.out" 2>&1
	awk -f "$root/bench/wrk-parse.awk" "$tmp/wrk.out" | {
		read -r rps _ p99_ms requests non2xx sockerr
		printf '%s|%.0f|%.2f|%d|%d|%d\n' "$name" "$rps" "$p99_ms" "$requests" "$non2xx" "$sockerr"
	} >> "$tmp/results"
	log "$(tail -1 "$tmp/results")"
}
log "measuring: wrk -t$T -c$C -d${D}s"
# Ours first in each pair: pyref's Celery worker runs the tasks its POST
# run queued for a while after it (ours has no worker here), so that work
# would otherwise land on our measurement.
measure our_get "$ours/podcasts/" -H "Authorization: Bearer $token"
[ -n "$pyref" ] && measure py_get "$py/podcasts/" -H "Authorization: Bearer $py_token"
measure our_post "$ours/podcasts/" -s "$tmp/ours-post.lua"
[ -n "$pyref" ] && measure py_post "$py/podcasts/" -s "$tmp/py-post.lua"

# Every podcast the POST run created must have exactly one job (counted
# once the requests still in flight when wrk stopped have finished).
sleep 2
created=$(psql_ -c "SELECT count(*) FROM podcasts WHERE id NOT LIKE '01JBENCHPOD%'")
unqueued=$(psql_ -c "SELECT count(*) FROM podcasts WHERE id NOT LIKE '01JBENCHPOD%' AND job_id IS NULL")
jobs=$(redis-cli -p "$PP_REDIS_PORT" XLEN pp:q:podcasts)
distinct=$(redis-cli -p "$PP_REDIS_PORT" --json XRANGE pp:q:podcasts - + | /usr/bin/python3 -c '
import json, sys
entries = json.load(sys.stdin) or []
print(len({json.loads(dict(zip(f[::2], f[1::2]))["job"])["args"]["podcast_id"] for _, f in entries}))')

# ------------------------------------------------------------ report
echo "== Podcast Pro API bench, $(date -u +%FT%TZ), $(nproc) cores, wrk -t$T -c$C -d${D}s"
echo "   ours: nginx -> podcastpro-fcgi $processes x $threads (shipped nginx file), LOG_LEVEL=warning, rate limits off"
[ -n "$pyref" ] && echo "   pyref: nginx -> gunicorn x2 UvicornWorker, Celery .delay, LOG_LEVEL=WARNING, rate limits off"
printf '%-34s %9s %10s %8s %8s %8s\n' measurement req/s p99_ms count non2xx sockerr
label() { case $1 in
	py_get) echo "pyref GET /podcasts/ (20 rows)";; our_get) echo "ours  GET /podcasts/ (20 rows)";;
	py_post) echo "pyref POST /podcasts/ + .delay";; our_post) echo "ours  POST /podcasts/ + enqueue";; esac; }
while IFS='|' read -r name rps p99 count bad sock; do
	printf '%-34s %9s %10s %8s %8s %8s\n' "$(label "$name")" "$rps" "$p99" "$count" "$bad" "$sock"
done < "$tmp/results"
awk -F'|' '
	{ rps[$1] = $2; p99[$1] = $3; err[$1] = $5 + $6 }
	END {
		if ("py_get" in rps && rps["py_get"] > 0)
			printf "ratio GET  ours/pyref: throughput %.1fx (target >= 15x), p99 %.2f ms (target < 20 ms)\n",
			    rps["our_get"] / rps["py_get"], p99["our_get"]
		else
			printf "GET: ours p99 %.2f ms (target < 20 ms); no pyref figure\n", p99["our_get"]
		if ("py_post" in rps && rps["py_post"] > 0)
			printf "ratio POST ours/pyref: throughput %.1fx (target >= 15x)\n", rps["our_post"] / rps["py_post"]
		printf "errors in our runs: %d\n", err["our_get"] + err["our_post"]
	}' "$tmp/results"
echo "POST run: $created podcasts created, $jobs jobs in pp:q:podcasts for $distinct distinct podcasts, $unqueued without a job"
if [ "$created" = "$jobs" ] && [ "$created" = "$distinct" ] && [ "$unqueued" = 0 ]; then
	echo "every created podcast enqueued exactly once: yes"
else
	echo "every created podcast enqueued exactly once: NO"
fi
