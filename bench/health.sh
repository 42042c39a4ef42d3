#!/bin/sh
# GET /health through nginx (the shipped etc/nginx/podcast-pro.conf) in front
# of podcastpro-fcgi, measured with wrk side by side, in the same run, with
# the anchors of ../shared/bench/anchors.sh (nginx answering by itself and a
# bare libfcgi responder). Prints req/s, p99 and errors of each, the ratios
# ours/bare-libfcgi and ours/nginx-static, and the RSS of every responder
# process after 10k and after 100k requests (and after the whole run).
#
# Usage: bench/health.sh
# Env: PP_BUILDDIR (default build/plain: an optimised build without
#      sanitizers), ANCHORS (default ../shared/bench/anchors.sh), PROCESSES
#      (2), THREADS (2), LOG_LEVEL (info: one log line per request, to a
#      file), D and C as anchors.sh reads them (seconds, connections).
# Needs: nginx, wrk, spawn-fcgi, libfcgi-dev (anchors.sh's list).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${PP_BUILDDIR:-$root/build/plain}
anchors=${ANCHORS:-$root/../shared/bench/anchors.sh}
processes=${PROCESSES:-2}
threads=${THREADS:-2}
bin=$builddir/podcastpro-fcgi
[ -x "$bin" ] || { echo "health.sh: no $bin (build first, or set PP_BUILDDIR)" >&2; exit 2; }
[ -f "$anchors" ] || { echo "health.sh: no $anchors (set ANCHORS)" >&2; exit 2; }
if strings "$bin" 2>/dev/null | grep -q __asan_init; then
	echo "health.sh: warning: $bin is built with sanitizers; figures will be low" >&2
fi

tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() {
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	[ -f "$tmp/api.pid" ] && kill "$(cat "$tmp/api.pid")" 2>/dev/null
	sleep 0.3
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# /health touches neither PostgreSQL nor Redis: the pool connects lazily,
# and rate limiting is off so every answer is a 200.
DATABASE_URL=postgresql://bench@127.0.0.1:1/bench \
SUPABASE_JWT_SECRET=bench-only-secret \
RATE_LIMIT_ENABLED=false \
STORAGE_DIR=$tmp/storage \
LOG_LEVEL=${LOG_LEVEL:-info} \
LOG_FILE=$tmp/api.log \
	"$bin" --listen "unix:$tmp/api.sock" --socket-mode 0666 \
	--processes "$processes" --threads "$threads" 2>"$tmp/api.err" &
echo $! > "$tmp/api.pid"

# The shipped nginx file: no upstream keepalive.
"$root/script/nginx-conf" "$tmp" "$tmp/api.sock" "$port" "$tmp/storage"
for _ in $(seq 100); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log"
sleep 0.3
url=http://127.0.0.1:$port/health
curl -fsS "$url" >/dev/null || { echo "health.sh: $url does not answer" >&2; cat "$tmp/api.err" >&2; exit 1; }

workers() { pgrep -P "$(cat "$tmp/api.pid")" | tr '\n' ' '; }
rss() {
	for p in $(workers); do
		printf ' %s:%sKiB' "$p" "$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status)"
	done
}
# wrk stops each of its 2 threads after N/2 responses.
cat > "$tmp/count.lua" <<'LUA'
local n, limit = 0, tonumber(os.getenv("PP_BENCH_REQUESTS")) / 2
function response(status, headers, body)
	n = n + 1
	if n >= limit then wrk.thread:stop() end
end
LUA
PP_BENCH_REQUESTS=10000 wrk -t2 -c8 -d60s -s "$tmp/count.lua" "$url" >/dev/null
rss10=$(rss)
PP_BENCH_REQUESTS=90000 wrk -t2 -c8 -d120s -s "$tmp/count.lua" "$url" >/dev/null
rss100=$(rss)

echo "== GET /health, $(nproc) cores, ${D:-5} s x ${C:-32} connections per run"
echo "   podcastpro-fcgi: $processes processes x $threads threads, shipped nginx file, LOG_LEVEL=${LOG_LEVEL:-info}"
sh "$anchors" "$url" "podcastpro-fcgi (nginx)" | tee "$tmp/anchors.out"
rssend=$(rss)

awk -v lib=1 -f "$root/bench/wrk-parse.awk" -f /dev/stdin "$tmp/anchors.out" <<'AWK'
/req\/s/ {
	name = substr($0, 1, 30); sub(/ +$/, "", name)
	for (i = 1; i <= NF; i++) {
		if ($i == "req/s") rps[name] = $(i - 1)
		if ($i == "p99") p99[name] = wrk_us($(i + 1))
	}
	if ($0 ~ /Non-2xx|Socket errors/) err[name] = 1
}
END {
	ours = "podcastpro-fcgi (nginx)"; bare = "nginx -> libfcgi hello x2"; stat = "nginx return 200"
	if (!(ours in rps) || !(bare in rps)) { print "health.sh: could not read the anchors output"; exit 1 }
	printf "ratio ours/bare-libfcgi  throughput %.2f  p99 %.2f\n", rps[ours] / rps[bare], p99[ours] / p99[bare]
	printf "ratio ours/nginx-static  throughput %.2f\n", rps[ours] / rps[stat]
	printf "errors (non-2xx or socket) in our run: %s\n", (ours in err) ? "YES (see above)" : "none"
}
AWK
echo "RSS per responder process after 10k requests: $rss10"
echo "RSS per responder process after 100k requests:$rss100"
echo "RSS per responder process after the whole run:$rssend"

# Rate limiting off and on, side by side (issue 5; see doc/ratelimit.md).
PP_BUILDDIR=$builddir sh "$root/bench/health-limits.sh"
