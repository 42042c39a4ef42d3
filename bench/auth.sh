#!/bin/bash
# The built-in accounts under load (doc/auth.md), in one run:
#   1. the raw argon2id verification rate of the stored hash (libsodium, as
#      many threads as the responder has acceptor threads: bench/argon2-rate.c),
#   2. POST /auth/v1/token?grant_type=password through nginx: the login rate,
#      whose ratio to (1) shows how much of a login is argon2id (close to 1:
#      nearly all of it),
#   3. POST /auth/v1/token?grant_type=refresh_token through nginx: the refresh
#      rate (rotation: a row locked, spent, its successor inserted, the user
#      loaded, a JWT signed). wrk sends one token over and over, so the bench
#      sets AUTH_REFRESH_REUSE_INTERVAL=3600: each request is a refresh inside
#      the reuse grace period, which makes a successor just like a first use.
#   4. GET /auth/v1/user with the session's token, a read, for scale;
#   5. the Python reference's authenticated GET /podcasts/ (../shared/bench/pyref,
#      nginx -> gunicorn x2, HOLD mode), the cheapest thing a signed-in user
#      does there; refresh should be >= 20x it.
# Prints each rate, p99 and errors, and the ratios.
#
# Usage: bench/auth.sh
# Env: PP_BUILDDIR (default build/plain: optimised, no sanitizers), D (5 s per
#      run; logins and the raw rate get 3 D), C (32 connections; logins get one per acceptor
#      thread, PROCESSES x THREADS, so that none waits in a queue behind other
#      argon2id runs), T (2 wrk threads), PROCESSES (2), THREADS (2),
#      PYREF (../shared/bench/pyref; PYREF= skips it), PYREF_WAIT (240 s).
# Needs: nginx, wrk, curl, cc, libsodium-dev, PostgreSQL, redis-server; for
#      pyref the Debian packages its README lists.
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${PP_BUILDDIR:-$root/build/plain}
D=${D:-5} C=${C:-32} T=${T:-2}
processes=${PROCESSES:-2} threads=${THREADS:-2}
pyref=${PYREF-$root/../shared/bench/pyref}
fcgi=$builddir/podcastpro-fcgi ctl=$builddir/podcastpro-ctl
[ -x "$fcgi" ] && [ -x "$ctl" ] || { echo "auth.sh: build first (no $fcgi), or set PP_BUILDDIR" >&2; exit 2; }
if strings "$fcgi" 2>/dev/null | grep -q __asan_init; then
	echo "auth.sh: warning: $fcgi is built with sanitizers; figures will be low" >&2
fi

tmp=$(mktemp -d /tmp/pp-auth-bench.XXXXXX) || exit 1
chmod 755 "$tmp"
pyref_pid=
log() { printf '[%5ds] %s\n' "$SECONDS" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
cleanup() {
	trap - EXIT INT TERM
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	[ -f "$tmp/api.pid" ] && kill "$(cat "$tmp/api.pid")" 2>/dev/null
	"$root/script/services" stop "$tmp/svc" >/dev/null 2>&1
	if [ -n "$pyref_pid" ] && kill -0 "$pyref_pid" 2>/dev/null; then
		kill -TERM "$pyref_pid" 2>/dev/null
		for _ in $(seq 300); do kill -0 "$pyref_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	sleep 0.3
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

cc -O2 -o "$tmp/argon2-rate" "$root/bench/argon2-rate.c" -lsodium -lpthread || die "cannot build argon2-rate"

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
"$ctl" migrate --dir "$root/migrations" > /dev/null || die "migrate failed"
port=$(free_port)
storage=$tmp/storage
mkdir -p "$storage"
anon=bench-anon-key-0123456789
log "starting podcastpro-fcgi ($processes x $threads) and nginx"
SUPABASE_JWT_SECRET=bench-only-secret-0123456789abcdef SUPABASE_ANON_KEY=$anon STORAGE_DIR=$storage \
STORAGE_SECRET=bench-storage-secret-0123456789 PUBLIC_URL=http://127.0.0.1:$port RATE_LIMIT_ENABLED=false \
AUTH_REFRESH_REUSE_INTERVAL=3600 LOG_LEVEL=warning LOG_FILE=$tmp/api.log DB_POOL_SIZE=$threads DB_MAX_OVERFLOW=2 \
	"$fcgi" --listen "unix:$tmp/api.sock" --socket-mode 0666 \
	--processes "$processes" --threads "$threads" 2>"$tmp/api.err" &
echo $! > "$tmp/api.pid"
"$root/script/nginx-conf" "$tmp" "$tmp/api.sock" "$port" "$storage"
for _ in $(seq 200); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" || die "nginx did not start"
sleep 0.3
ours=http://127.0.0.1:$port
email=bench@example.com password=bench-password-1
session=$(curl -fsS -H "apikey: $anon" -H 'Content-Type: application/json' \
	-d "{\"email\": \"$email\", \"password\": \"$password\"}" "$ours/auth/v1/signup") \
	|| die "signup failed: $(tail -5 "$tmp/api.err" "$tmp/api.log" 2>/dev/null)"
refresh=$(json_field refresh_token <<< "$session") || die "no refresh token"
access=$(json_field access_token <<< "$session") || die "no access token"
hash=$(psql "$DATABASE_URL" -X -qAt -c "SELECT password_hash FROM auth_credentials WHERE email = '$email'")
case $hash in '$argon2id$'*) ;; *) die "no argon2id hash stored" ;; esac
for grant in password refresh_token; do
	if [ "$grant" = password ]; then body="{\"email\": \"$email\", \"password\": \"$password\"}"
	else body="{\"refresh_token\": \"$refresh\"}"; fi
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "apikey: $anon" -H 'Content-Type: application/json' \
		-d "$body" "$ours/auth/v1/token?grant_type=$grant")
	[ "$code" = 200 ] || die "grant_type=$grant answered $code"
	cat > "$tmp/$grant.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["apikey"] = "$anon"
wrk.body = '$body'
LUA
done

# ------------------------------------------------------------ wait for pyref
if [ -n "$pyref" ]; then
	log "waiting for pyref's stack (up to ${PYREF_WAIT:-240} s)"
	for _ in $(seq $(( ${PYREF_WAIT:-240} * 2 ))); do
		[ -s "$tmp/pyref.env" ] && break
		kill -0 "$pyref_pid" 2>/dev/null || break
		sleep 0.5
	done
	if [ -s "$tmp/pyref.env" ]; then
		py_port=$(bash -c '. "$1"; echo "$P_NX_GU"' _ "$tmp/pyref.env")
		py_token=$(bash -c '. "$1"; echo "$TOKEN"' _ "$tmp/pyref.env")
		py=http://127.0.0.1:$py_port
	else
		log "pyref did not come up: $(tail -3 "$tmp/pyref.log")"
		pyref=
	fi
fi

# ------------------------------------------------------------ measurements
: > "$tmp/results"
measure() { # name connections seconds url [wrk args]
	local name=$1 c=$2 d=$3 url=$4
	shift 4
	# A warm-up, not recorded; not for logins, whose warm-up would still
	# hold the acceptor threads in argon2id when the run starts.
	[ "$name" = login ] || wrk -t"$T" -c"$c" -d1s "$@" "$url" > /dev/null 2>&1
	wrk -t"$T" -c"$c" -d"${d}s" --latency --timeout 30s "$@" "$url" > "$tmp/wrk.out" 2>&1
	awk -f "$root/bench/wrk-parse.awk" "$tmp/wrk.out" | {
		read -r rps _ p99_ms requests non2xx sockerr
		printf '%s|%.1f|%.2f|%d|%d|%d\n' "$name" "$rps" "$p99_ms" "$requests" "$non2xx" "$sockerr"
	} >> "$tmp/results"
	log "$(tail -1 "$tmp/results")"
}
acceptors=$((processes * threads))
# Back to back, so that the machine's load is alike for both.
log "argon2id verification, $acceptors threads, $((3 * D))s"
read -r argon_rate argon_count < <("$tmp/argon2-rate" "$hash" "$password" "$acceptors" $((3 * D))) \
	|| die "argon2-rate failed"
printf 'argon2|%s|0|%s|0|0\n' "$argon_rate" "$argon_count" >> "$tmp/results"
log "measuring: wrk -t$T, logins -c$acceptors -d$((3 * D))s, the rest -c$C -d${D}s"
measure login "$acceptors" $((3 * D)) "$ours/auth/v1/token?grant_type=password" -s "$tmp/password.lua"
sleep 2   # the warm-up's and the run's last logins finish
measure refresh "$C" "$D" "$ours/auth/v1/token?grant_type=refresh_token" -s "$tmp/refresh_token.lua"
# A read of the accounts for scale: what this machine gives a request
# that only reads (the token checked, the account and session looked up).
measure user "$C" "$D" "$ours/auth/v1/user" -H "apikey: $anon" -H "Authorization: Bearer $access"
[ -n "$pyref" ] && measure py_get "$C" "$D" "$py/podcasts/" -H "Authorization: Bearer $py_token"

# ------------------------------------------------------------ report
echo "== Podcast Pro accounts bench, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"wrk -t$T (logins -c$acceptors -d$((3 * D))s, the rest -c$C -d${D}s)"
echo "   ours: nginx -> podcastpro-fcgi $processes x $threads (shipped nginx file), rate limits off," \
	"argon2id $(cut -d'$' -f4 <<< "$hash")"
[ -n "$pyref" ] && echo "   pyref: nginx -> gunicorn x2 UvicornWorker, LOG_LEVEL=WARNING, rate limits off"
printf '%-46s %9s %10s %8s %8s %8s\n' measurement per_s p99_ms count non2xx sockerr
label() { case $1 in
	argon2) echo "argon2id verify, raw ($acceptors threads)";;
	login) echo "ours  POST /token?grant_type=password";;
	refresh) echo "ours  POST /token?grant_type=refresh_token";;
	user) echo "ours  GET /user (a read, for scale)";;
	py_get) echo "pyref GET /podcasts/ (authenticated)";; esac; }
while IFS='|' read -r name rps p99 count bad sock; do
	printf '%-46s %9s %10s %8s %8s %8s\n' "$(label "$name")" "$rps" "$p99" "$count" "$bad" "$sock"
done < "$tmp/results"
awk -F'|' '
	{ rps[$1] = $2; err[$1] = $5 + $6 }
	END {
		if (rps["argon2"] > 0)
			printf "ratio login / raw argon2id: %.2f (close to 1: a login is nearly all argon2id)\n",
			    rps["login"] / rps["argon2"]
		if ("py_get" in rps && rps["py_get"] > 0)
			printf "ratio refresh / pyref authenticated GET: %.1fx (target >= 20x)\n", rps["refresh"] / rps["py_get"]
		else
			printf "refresh: %.0f/s; no pyref figure\n", rps["refresh"]
		if ("py_get" in rps && rps["py_get"] > 0)
			printf "ratio GET /user / pyref authenticated GET: %.1fx\n", rps["user"] / rps["py_get"]
		printf "errors in our runs: %d\n", err["login"] + err["refresh"] + err["user"]
	}' "$tmp/results"
