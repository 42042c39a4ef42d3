# Shared by script/run and script/test. Sourced, not run.

# Debian 12 packages the build, the services and the tests need.
PP_PACKAGES="build-essential autoconf automake pkg-config libglib2.0-dev libpq-dev
libhiredis-dev libjansson-dev libjwt-dev libssl-dev libcurl4-openssl-dev libsystemd-dev
libfcgi-dev libfcgi-bin spawn-fcgi libpoppler-glib-dev libxml2-dev libzip-dev libespeak-ng-dev libmp3lame-dev
libmpg123-dev libsodium-dev libcrypt-dev mpg123 postgresql redis-server nginx-light lighttpd wrk valgrind poppler-utils
python3 python3-pytest python3-requests python3-jwt python3-cryptography python3-redis
python3-psycopg2 procps iproute2 curl python3-celery python3-jsonschema"
# The browser test (tests/browser): Debian's chromium, and node and npm
# unless they are there already (NodeSource's nodejs brings its own npm).
PP_PACKAGES="$PP_PACKAGES chromium"
# promtool checks /metrics' exposition (tests/integration/test_metrics.py);
# Debian ships it only inside the prometheus package (its service is not started).
PP_PACKAGES="$PP_PACKAGES prometheus"
# The private feeds' tests read the RSS with a real parser (tests/integration/test_feeds.py;
# mpg123, the real player there, is in the list above).
PP_PACKAGES="$PP_PACKAGES python3-feedparser"
# The transcript test (tests/integration/test_pipeline_transcript.py) reads the
# WebVTT with a real parser, Debian's webvtt-py.
PP_PACKAGES="$PP_PACKAGES python3-webvtt"
# The accounts' mail tests (tests/integration/test_auth_mail.py) receive the
# mails with a real SMTP server, Debian's aiosmtpd.
PP_PACKAGES="$PP_PACKAGES python3-aiosmtpd"
# PgBouncer in transaction mode in front of the API and the worker
# (tests/integration/test_pgbouncer.py, bench/pgbouncer.sh); its service is not started.
PP_PACKAGES="$PP_PACKAGES pgbouncer"
command -v node >/dev/null 2>&1 || PP_PACKAGES="$PP_PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PP_PACKAGES="$PP_PACKAGES npm"

pp_log() { printf '==> %s\n' "$*" >&2; }

# Installs what is missing (apt-get update first, once), as root or via sudo.
pp_install_deps() {
	local missing=() p sudo=
	for p in $PP_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || sudo=sudo
	pp_log "installing ${missing[*]}"
	# Debian would start the packaged nginx, lighttpd, PostgreSQL and Redis
	# on install (nginx and lighttpd both on port 80). We start our own, on
	# loopback, so a temporary policy-rc.d denies those starts where the
	# machine has no policy of its own.
	local policy=/usr/sbin/policy-rc.d own_policy=no
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
		$sudo chmod 755 $policy
		own_policy=yes
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| { [ $own_policy = yes ] && $sudo rm -f $policy; return 1; }
	[ $own_policy = yes ] && $sudo rm -f $policy
	return 0
}

# The browser test's npm packages (tests/browser/package-lock.json): `npm ci`,
# quietly, when node_modules is missing or the lock changed since the last
# successful run (its hash is kept in node_modules/.pp-lock.sha256).
pp_browser_deps() {
	local dir=tests/browser sum
	sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1) || return 1
	[ "$(cat "$dir/node_modules/.pp-lock.sha256" 2>/dev/null)" = "$sum" ] && return 0
	command -v npm >/dev/null 2>&1 || { pp_log "npm is not installed"; return 1; }
	pp_log "npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
	echo "$sum" >"$dir/node_modules/.pp-lock.sha256"
}

# Builds into build/NAME with extra configure flags; quiet unless it fails.
pp_build() {
	local name=$1; shift
	local top; top=$(pwd)
	[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] \
		|| { pp_log "autoreconf"; autoreconf -fi >/dev/null 2>&1 || autoreconf -fi; }
	mkdir -p "build/$name"
	( cd "build/$name"
	  if [ ! -f Makefile ] || [ config.status -ot "$top/configure" ]; then
		"$top/configure" -q "$@" >/dev/null
	  fi
	  make -j"$(nproc)" >make.log 2>&1 || { tail -40 make.log >&2; exit 1; }
	  make -j"$(nproc)" check TESTS= >>make.log 2>&1 || { tail -40 make.log >&2; exit 1; } )
}

# Where DIR's runtime state really lives (printed). PostgreSQL runs as
# "postgres" and nginx's workers as www-data when we are root, so every
# directory on the way to DIR must be searchable by others. Under a private
# checkout (/root is 0700) it is not: DIR's state then lives in
# /var/lib/podcast-pro-dev/<hash of DIR's path> (root's, mode 0711: others
# may pass through but not list it), and DIR becomes a symlink to it when DIR
# does not exist yet. Nothing of the checkout's own modes is changed.
PP_STATE_ROOT=${PP_STATE_ROOT:-/var/lib/podcast-pro-dev}
pp_searchable_by_others() {
	local p=$1
	while [ ! -e "$p" ]; do p=$(dirname "$p"); done
	p=$(cd "$p" && pwd -P) || return 1
	while :; do
		[ -n "$(find "$p" -maxdepth 0 -perm -o=x 2>/dev/null)" ] || return 1
		[ "$p" = / ] && return 0
		p=$(dirname "$p")
	done
}
pp_state_dir() {
	local dir=$1 abs state
	(umask 022 && mkdir -p "$(dirname "$dir")")
	[ -L "$dir" ] && [ -d "$dir" ] && dir=$(cd "$dir" && pwd -P)
	abs=$(cd "$(dirname "$dir")" && pwd -P)/$(basename "$dir")
	# DIR itself is ours to open (go+x); the way to it must be open already.
	if [ "$(id -u)" != 0 ] || pp_searchable_by_others "$(dirname "$abs")"; then
		mkdir -p "$abs" && chmod go+x "$abs" && echo "$abs"
		return
	fi
	state=$PP_STATE_ROOT/$(printf '%s' "$abs" | sha256sum | cut -c1-16)
	mkdir -p "$state" && chmod 755 "$PP_STATE_ROOT" && chmod 711 "$state" || return 1
	printf '%s\n' "$abs" > "$state/.checkout"
	if [ -L "$abs" ] && [ "$(readlink "$abs")" = "$state" ]; then
		:
	elif [ ! -e "$abs" ] && [ ! -L "$abs" ]; then
		ln -s "$state" "$abs"
	else
		pp_log "$abs is not reachable by postgres/www-data; its state is in $state"
	fi
	echo "$state"
}
