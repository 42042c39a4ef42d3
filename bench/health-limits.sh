#!/bin/sh
# GET /health through nginx with rate limiting off and on, in the same run
# (issue 5's target: on >= 80% of off). Three responders run side by side,
# each behind its own nginx port, on one private Redis:
#   off        RATE_LIMIT_ENABLED=false
#   on         every request allowed (a limit nobody reaches): the Lua
#              script records each request, the most expensive path
#   default    the deployment guide's limits (health 1000/hour): one client
#              over its limit, refused with 429 after its first 1000, by
#              each process from memory once Redis has said no
# The runs alternate (off, on, 429, off, on, 429, ...) and the best of each
# is kept, so that a noisy moment on a small machine hurts all alike.
# Responders and nginx as shipped: 2 processes x 2 threads, no upstream
# keepalive.
# Usage: bench/health-limits.sh   Env: PP_BUILDDIR (an optimised build;
# default build/plain), D seconds per run (5), C connections (32), R rounds (3),
# REDIS (tcp: REDIS_URL=redis://127.0.0.1:PORT; unix: its unix socket).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
B=${PP_BUILDDIR:-$top/build/plain}
fcgi=$B/podcastpro-fcgi
[ -x "$fcgi" ] || { echo "no $fcgi: build first (script/test builds build/plain)" >&2; exit 1; }
D=${D:-5} C=${C:-32} R=${R:-3} REDIS=${REDIS:-tcp}
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() {
	for f in "$tmp"/*.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
	sleep 0.5
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
	--unixsocket "$tmp/redis.sock" --unixsocketperm 700 \
	--pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" --dir "$tmp" >/dev/null
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done

redis_url() {
	if [ "$REDIS" = unix ]; then echo "unix://$tmp/redis.sock?db=$1"; else echo "redis://127.0.0.1:$rport/$1"; fi
}

# name, Redis database, then settings for that responder (a database each,
# so that one's counts never meet another's)
start_responder() {
	name=$1 db=$2; shift 2
	env DATABASE_URL='postgresql://127.0.0.1:1/none?connect_timeout=1' \
		REDIS_URL="$(redis_url "$db")" SUPABASE_JWT_SECRET=bench-secret-0123456789abcdef \
		LOG_LEVEL=warning "$@" \
		"$fcgi" --listen "unix:$tmp/$name.sock" --socket-mode 0666 --processes 2 --threads 2 \
		>"$tmp/$name.log" 2>&1 &
	echo $! > "$tmp/$name.pid"
}
start_responder off 0 RATE_LIMIT_ENABLED=false
# A window of 10 s keeps Redis's list short (requests in the last 10 s).
start_responder on 1 RATE_LIMITS=health=1000000000/10second
start_responder refused 2 RATE_LIMITS=
for n in off on refused; do
	for _ in $(seq 100); do [ -S "$tmp/$n.sock" ] && break; sleep 0.05; done
done

p_off=$(free_port); p_on=$(free_port); p_ref=$(free_port)
cat > "$tmp/nginx.conf" <<NGX
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  upstream off { server unix:$tmp/off.sock; }
  upstream on { server unix:$tmp/on.sock; }
  upstream refused { server unix:$tmp/refused.sock; }
  server { listen 127.0.0.1:$p_off; location / { include /etc/nginx/fastcgi_params; fastcgi_pass off; } }
  server { listen 127.0.0.1:$p_on; location / { include /etc/nginx/fastcgi_params; fastcgi_pass on; } }
  server { listen 127.0.0.1:$p_ref; location / { include /etc/nginx/fastcgi_params; fastcgi_pass refused; } }
}
NGX
nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log"
sleep 0.5
for p in $p_off $p_on $p_ref; do curl -fsS -o /dev/null "http://127.0.0.1:$p/health" 2>/dev/null || true; done

# Prints "rps p99 non2xx requests" for one run.
run() {
	wrk -t2 -c"$C" -d"${D}s" --latency "$1" | awk -f "$here/wrk-parse.awk" |
		awk '{printf "%.0f %s %d %d\n", $1, $2, $5, $4}'
}
# Scripts our clients have sent to Redis so far (EVALSHA, and EVAL after a
# NOSCRIPT); the commands a script runs inside Redis are not round trips.
scripts() {
	redis-cli -p "$rport" info commandstats |
		awk -F'[:=,]' '/^cmdstat_(evalsha|eval):/ {n += $3} END {print n + 0}'
}
best_off=0 best_on=0 best_ref=0
for i in $(seq "$R"); do
	for v in off on ref; do
		eval port=\$p_$v
		before=$(scripts)
		set -- $(run "http://127.0.0.1:$port/health")
		trips=$(awk -v a="$before" -v b="$(scripts)" -v n="$4" 'BEGIN {printf "%.3f", (b - a) / (n > 0 ? n : 1)}')
		label=$v; [ "$v" = ref ] && label=default
		printf 'round %d %-8s %8s req/s  p99 %-9s non-2xx %-7s Redis round trips/request %s\n' \
			"$i" "$label" "$1" "$2" "$3" "$trips" >&2
		eval best=\$best_$v
		[ "$1" -gt "$best" ] && eval best_$v=$1
	done
done
awk -v off="$best_off" -v on="$best_on" -v ref="$best_ref" 'BEGIN {
	printf "GET /health, best of rounds: limiting off %d req/s; on, every request counted %d req/s (%.0f%%); on, default limits %d req/s (%.0f%%)\n",
	    off, on, 100 * on / off, ref, 100 * ref / off
	printf "target on >= 80%% of off: every request counted: %s; default limits: %s\n",
	    (on >= 0.8 * off) ? "met" : "NOT met", (ref >= 0.8 * off) ? "met" : "NOT met"
}'
