# wrk's output, read in one place for every bench script.
#
#   awk -f bench/wrk-parse.awk WRK_OUTPUT
#       reads one `wrk --latency` run and prints one line of six fields:
#       req/s  p99-as-wrk-printed-it  p99-in-ms  requests  non-2xx  socket-errors
#       (p99 "-" and 0 ms when wrk printed no latency distribution; the
#       counts 0 when wrk printed no such line).
#   awk -v lib=1 -f bench/wrk-parse.awk -f MINE.awk ...
#       only the functions below, for scripts that read wrk's figures from
#       elsewhere (health.sh reads anchors.sh's summary lines).

# A wrk duration ("850.00us", "1.23ms", "2.01s", "1.00m") in milliseconds,
# and in microseconds.
function wrk_ms(v) {
	if (v ~ /us$/) return v / 1000
	if (v ~ /ms$/) return v + 0
	if (v ~ /m$/) return v * 60000
	if (v ~ /h$/) return v * 3600000
	if (v ~ /s$/) return v * 1000
	return v + 0
}
function wrk_us(v) {
	if (v ~ /us$/) return v + 0
	if (v ~ /ms$/) return v * 1000
	if (v ~ /m$/) return v * 60000000
	if (v ~ /h$/) return v * 3600000000
	if (v ~ /s$/) return v * 1000000
	return v + 0
}

!lib && /Requests\/sec/ { wrk_rps = $2 }
!lib && /^ +99%/ { wrk_p99 = $2 }
!lib && / requests in / { wrk_requests = $1 }
!lib && /Non-2xx/ { wrk_non2xx = $NF }
# "Socket errors: connect 0, read 0, write 0, timeout 0"
!lib && /Socket errors/ {
	line = $0
	gsub(/,/, "", line)
	split(line, f, " ")
	wrk_sockerr = f[4] + f[6] + f[8] + f[10]
}
END {
	if (!lib)
		printf "%s %s %.6f %d %d %d\n", wrk_rps == "" ? 0 : wrk_rps, wrk_p99 == "" ? "-" : wrk_p99,
		    wrk_p99 == "" ? 0 : wrk_ms(wrk_p99), wrk_requests, wrk_non2xx, wrk_sockerr
}
