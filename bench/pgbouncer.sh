#!/bin/bash
# What running behind PgBouncer in transaction mode costs (issue 13):
# authenticated GET /podcasts/ (20 rows) and GET /podcasts/{id} through
# nginx, in one run, three ways:
#   direct     DATABASE_URL -> PostgreSQL, named prepared statements (default)
#   unnamed    DATABASE_URL -> PostgreSQL, DB_TRANSACTION_POOLER=true: the
#              statements alone (parsed and planned on every execution)
#   pgbouncer  DATABASE_URL -> PgBouncer (pool_mode=transaction, as many
#              server connections as acceptors), DB_TRANSACTION_POOLER=true
# Prints req/s and p99 of each and the ratios to "direct".
#
# Usage: bench/pgbouncer.sh
# Env: PP_BUILDDIR (default build/plain), D (5 s per run), C (32
#      connections), T (2 wrk threads), PROCESSES (2), THREADS (2).
# Needs: nginx, wrk, curl, PostgreSQL, redis-server, pgbouncer.
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${PP_BUILDDIR:-$root/build/plain}
D=${D:-5} C=${C:-32} T=${T:-2}
processes=${PROCESSES:-2} threads=${THREADS:-2}
fcgi=$builddir/podcastpro-fcgi ctl=$builddir/podcastpro-ctl
[ -x "$fcgi" ] && [ -x "$ctl" ] || { echo "pgbouncer.sh: build first (no $fcgi), or set PP_BUILDDIR" >&2; exit 2; }
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { echo "pgbouncer.sh: pgbouncer is not installed" >&2; exit 2; }
bouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

tmp=$(mktemp -d /tmp/pp-pgb-bench.XXXXXX) || exit 1
chmod 755 "$tmp"
log() { printf '[%5ds] %s\n' "$SECONDS" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
stop_api() {
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	[ -f "$tmp/api.pid" ] && kill "$(cat "$tmp/api.pid")" 2>/dev/null && wait "$(cat "$tmp/api.pid")" 2>/dev/null
	rm -f "$tmp/nginx.pid" "$tmp/api.pid" "$tmp/api.sock"
}
cleanup() {
	trap - EXIT INT TERM
	stop_api
	[ -f "$tmp/pgbouncer.pid" ] && kill "$(cat "$tmp/pgbouncer.pid")" 2>/dev/null
	"$root/script/services" stop "$tmp/svc" >/dev/null 2>&1
	sleep 0.3
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "starting PostgreSQL and Redis"
"$root/script/services" start "$tmp/svc" > /dev/null || die "services did not start"
. "$tmp/svc/env"
export REDIS_URL
direct_url=$DATABASE_URL
DATABASE_URL=$direct_url MIGRATIONS_DIR=$root/migrations "$ctl" migrate --dir "$root/migrations" > /dev/null \
	|| die "migrate failed"
sub=$(cat /proc/sys/kernel/random/uuid)
psql "$direct_url" -X -qAt -v ON_ERROR_STOP=1 -v sub="$sub" <<'SQL' || die "seeding failed"
INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created)
	VALUES ('01JBENCHUSER00000000000000', 'bench@example.com', :'sub', 100, 20);
INSERT INTO podcasts (id, owner_id, status, original_file_url, final_podcast_url, title, duration, created_at)
	SELECT '01JBENCHP0D' || lpad(i::text, 15, '0'), '01JBENCHUSER00000000000000', 'complete',
		'http://127.0.0.1/uploads/local/podcasts/x/paper.pdf',
		'http://127.0.0.1/uploads/local/podcasts/podcast_' || i || '.mp3', 'Episode ' || i, 300 + i,
		now() - (20 - i) * interval '1 minute'
	FROM generate_series(1, 20) AS i;
SQL

# PgBouncer: one server connection per acceptor, as a pool sized for them.
bport=$(free_port)
pg_hostport=${direct_url#*@}; pg_hostport=${pg_hostport%%/*}
pg_user=${direct_url#*://}; pg_user=${pg_user%%@*}
cat > "$tmp/pgbouncer.ini" <<INI
[databases]
* = host=${pg_hostport%:*} port=${pg_hostport##*:} user=$pg_user
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = $((processes * threads))
max_client_conn = 200
server_reset_query =
pidfile = $tmp/pgbouncer.pid
logfile = $tmp/pgbouncer.log
INI
as_user=()
[ "$(id -u)" = 0 ] && as_user=(-u postgres)
touch "$tmp/pgbouncer.log"; [ "$(id -u)" = 0 ] && chown postgres "$tmp" "$tmp/pgbouncer.log"
"$bouncer" -d "${as_user[@]}" "$tmp/pgbouncer.ini" || die "pgbouncer did not start"
bounce_url="postgresql://$pg_user@127.0.0.1:$bport/${direct_url##*/}"

port=$(free_port)
secret=bench-only-secret-0123456789abcdef
token=$(SUPABASE_JWT_SECRET=$secret DATABASE_URL=$direct_url "$ctl" token bench@example.com --sub "$sub" --ttl 7200) \
	|| die "no token"
ours=http://127.0.0.1:$port
start_api() { # database-url pooler(true|false)
	DATABASE_URL=$1 DB_TRANSACTION_POOLER=$2 SUPABASE_JWT_SECRET=$secret STORAGE_DIR=$tmp/storage \
	STORAGE_SECRET=bench-storage-secret-0123456789 PUBLIC_URL=$ours RATE_LIMIT_ENABLED=false \
	LOG_LEVEL=warning LOG_FILE=$tmp/api.log DB_POOL_SIZE=$threads DB_MAX_OVERFLOW=0 \
		"$fcgi" --listen "unix:$tmp/api.sock" --socket-mode 0666 \
		--processes "$processes" --threads "$threads" 2>>"$tmp/api.err" &
	echo $! > "$tmp/api.pid"
	[ -f "$tmp/nginx.conf" ] || "$root/script/nginx-conf" "$tmp" "$tmp/api.sock" "$port" "$tmp/storage"
	for _ in $(seq 200); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
	nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" || die "nginx did not start"
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$ours/podcasts/")" = 200 ] \
			&& return 0
		sleep 0.1
	done
	die "GET /podcasts/ does not answer 200 ($1, pooler=$2): $(tail -3 "$tmp/api.log")"
}
mkdir -p "$tmp/storage"

: > "$tmp/results"
measure() { # name path
	wrk -t"$T" -c"$C" -d1s -H "Authorization: Bearer $token" "$ours$2" > /dev/null 2>&1
	wrk -t"$T" -c"$C" -d"${D}s" --latency --timeout 10s -H "Authorization: Bearer $token" "$ours$2" > "$tmp/wrk.out" 2>&1
	awk -f "$root/bench/wrk-parse.awk" "$tmp/wrk.out" | {
		read -r rps _ p99_ms requests non2xx sockerr
		printf '%s|%.0f|%.2f|%d|%d\n' "$1" "$rps" "$p99_ms" "$requests" "$((non2xx + sockerr))"
	} >> "$tmp/results"
	log "$(tail -1 "$tmp/results")"
}
for mode in direct unnamed pgbouncer; do
	case $mode in
	direct) start_api "$direct_url" false ;;
	unnamed) start_api "$direct_url" true ;;
	pgbouncer) start_api "$bounce_url" true ;;
	esac
	measure "$mode list" /podcasts/
	measure "$mode get" /podcasts/01JBENCHP0D000000000000010
	stop_api
done

echo "== PgBouncer bench, $(date -u +%FT%TZ), $(nproc) cores, wrk -t$T -c$C -d${D}s, podcastpro-fcgi $processes x $threads"
printf '%-28s %9s %10s %8s %7s %8s\n' measurement req/s p99_ms count errors vs_direct
awk -F'|' '
	{ split($1, k, " "); rps[$1] = $2; line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			split(line[i], f, "|"); split(f[1], k, " ")
			base = rps["direct " k[2]]
			printf "%-28s %9s %10s %8s %7s %7.2fx\n", f[1], f[2], f[3], f[4], f[5], (base > 0 ? f[2] / base : 0)
		}
	}' "$tmp/results"
