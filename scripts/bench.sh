#!/usr/bin/env bash
# Runs the performance benchmarks (issue 8) and writes BENCHMARKS.md at the repository root:
# the targets against the median of each benchmark over COUNT runs.
#
#   scripts/bench.sh                                      # the full run: 1M users, -count 5
#   AUTHCUBE_BENCH_USERS=100000 COUNT=1 scripts/bench.sh  # a quick run
#   scripts/bench.sh postgres                             # only the PostgreSQL section
#
# Environment:
#   AUTHCUBE_BENCH_USERS  users in the seeded data set (default 1000000)
#   COUNT                 runs of each benchmark (default 5)
#   OUT                   where the raw `go test` output goes (default a temporary file, removed)
#   KEEP_RAW=1            also keep the raw output as bench.txt next to BENCHMARKS.md
#   NOTES                 a markdown file appended to BENCHMARKS.md under "Notes" (default
#                         scripts/bench-notes.md: why the missed targets are missed)
#
# "postgres" runs store/postgres's benchmarks against AUTHCUBE_TEST_POSTGRES (required) on
# AUTHCUBE_BENCH_PG_USERS users (default 100000, written with COPY into a schema dropped
# afterwards), COUNT times (default 3), and rewrites only the PostgreSQL section of BENCHMARKS.md.
#
# The first run for a data-set size builds the seeded directory (cached under the user cache
# directory); for 1M users that takes about 2 minutes more.
set -euo pipefail

if [[ -n ${OUT:-} && $OUT != /* ]]; then OUT="$PWD/$OUT"; fi # relative to the caller's directory
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${1:-} == postgres ]]; then
	: "${AUTHCUBE_TEST_POSTGRES:?set AUTHCUBE_TEST_POSTGRES to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test)}"
	export AUTHCUBE_BENCH_PG_USERS="${AUTHCUBE_BENCH_PG_USERS:-100000}"
	COUNT="${COUNT:-3}"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	OUT="${OUT:-$tmp/bench.txt}"
	shown="go test -run '^\$' -bench '^BenchmarkPG' -benchmem -count $COUNT -timeout 30m ./store/postgres/"
	echo "AUTHCUBE_BENCH_PG_USERS=$AUTHCUBE_BENCH_PG_USERS $shown" >&2
	start=$SECONDS
	go test -run '^$' -bench '^BenchmarkPG' -benchmem -count "$COUNT" -timeout 30m ./store/postgres/ 2>&1 | tee "$OUT"
	echo "benchmarks took $((SECONDS - start)) s" >&2
	go run ./internal/benchreport -postgres -in "$OUT" -out BENCHMARKS.md -users "$AUTHCUBE_BENCH_PG_USERS" \
		-gotest "AUTHCUBE_BENCH_PG_USERS=$AUTHCUBE_BENCH_PG_USERS $shown"
	echo "wrote the PostgreSQL section of BENCHMARKS.md" >&2
	if [[ ${KEEP_RAW:-} == 1 ]]; then cp "$OUT" bench-postgres.txt; fi
	exit 0
fi

export AUTHCUBE_BENCH_USERS="${AUTHCUBE_BENCH_USERS:-1000000}"
COUNT="${COUNT:-5}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
OUT="${OUT:-$tmp/bench.txt}"

# Every benchmark a row of BENCHMARKS.md is derived from (BenchmarkNew is in ./authtest, the
# S3 ones, against a loopback gofakes3 beside raw minio-go, in ./blob/s3).
benchmarks='^Benchmark(Session|TokenOverhead|User|UserByEmail|UserBy|UsersByIDs50|UsersByTags|UsersByFullName|SignIn|SignUp|Argon2|DiskSync|CreateSession|UpdateUser|SignInBurst|Open|SessionCacheMemory|UploadFile|OpenFile|New|S3UploadFile|S3OpenFile)$'
gotest=(go test -run '^$' -bench "$benchmarks" -benchmem -count "$COUNT" -timeout 60m . ./authtest/ ./blob/s3/)
shown="go test -run '^\$' -bench '$benchmarks' -benchmem -count $COUNT -timeout 60m . ./authtest/ ./blob/s3/"

case "$(uname -s)" in
Darwin) cache="$HOME/Library/Caches" ;;
*) cache="${XDG_CACHE_HOME:-$HOME/.cache}" ;;
esac
if ! compgen -G "$cache/authcube-seed/*-$AUTHCUBE_BENCH_USERS" >/dev/null; then
	echo "note: no cached seed directory of $AUTHCUBE_BENCH_USERS users yet; this first run builds it" \
		"under $cache/authcube-seed (about 2 minutes more for 1M users)." >&2
fi
echo "AUTHCUBE_BENCH_USERS=$AUTHCUBE_BENCH_USERS $shown" >&2
echo "raw output: $OUT" >&2

start=$SECONDS
status=0
"${gotest[@]}" 2>&1 | tee "$OUT" || status=$?
echo "benchmarks took $((SECONDS - start)) s" >&2

# How to reproduce this very run.
cmd=scripts/bench.sh
if [[ $COUNT != 5 ]]; then cmd="COUNT=$COUNT $cmd"; fi
if [[ $AUTHCUBE_BENCH_USERS != 1000000 ]]; then cmd="AUTHCUBE_BENCH_USERS=$AUTHCUBE_BENCH_USERS $cmd"; fi
report=(go run ./internal/benchreport -in "$OUT" -out BENCHMARKS.md -users "$AUTHCUBE_BENCH_USERS"
	-cmd "$cmd" -gotest "$shown")
NOTES="${NOTES:-scripts/bench-notes.md}"
if [[ -f $NOTES ]]; then report+=(-notes "$NOTES"); fi
"${report[@]}"
echo "wrote BENCHMARKS.md" >&2

if [[ ${KEEP_RAW:-} == 1 ]]; then
	cp "$OUT" bench.txt
	echo "kept the raw output as bench.txt" >&2
fi

if ((status != 0)); then
	echo "go test failed (exit status $status); BENCHMARKS.md shows the benchmarks that ran" >&2
	exit "$status"
fi
