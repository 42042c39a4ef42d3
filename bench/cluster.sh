#!/usr/bin/env bash
# The cluster of tests/cluster (network namespaces, doc/scaling.md): GET
# /podcasts/ through the load balancer with 1, 2 and 3 API hosts, and the
# Redis failover time (kill -9 of the master to: the sentinels' promotion,
# the first POST /podcasts/ enqueued on the new master, that podcast
# complete) over RUNS runs, with min/median/max. Needs root.
#
#   bench/cluster.sh [D] [RUNS] [C]     D seconds per wrk run (10), RUNS (5),
#                                       C connections (32)
#
# Uses PP_BUILDDIR (default build/cluster, as script/test-cluster builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/cluster.sh needs root (ip netns)" >&2; exit 1; }
export PP_BUILDDIR=${PP_BUILDDIR:-$PWD/build/cluster}
[ -x "$PP_BUILDDIR/podcastpro-fcgi" ] || { echo "no build in $PP_BUILDDIR (script/test-cluster makes one)" >&2; exit 1; }
echo "== Podcast Pro cluster bench, $(date -u +%FT%TZ), $(nproc) cores, build $PP_BUILDDIR"
exec /usr/bin/python3 tests/cluster/bench_cluster.py "${1:-10}" "${2:-5}" "${3:-32}"
