#!/usr/bin/env bash
# Mutation testing (issue 21): runs github.com/go-gremlins/gremlins on the packages where it is
# quick, reports each package's efficacy (killed / (killed + lived) covered mutants) and fails
# when one is below the floor. CI (.ci/run) runs every package.
#
#   scripts/mutation.sh                          # every package below, floor 95%
#   scripts/mutation.sh internal/canon blob      # only these
#   FLOOR=90 WORKERS=1 scripts/mutation.sh
#
# gremlins runs the whole test suite of a mutant's package once per mutant, building its test
# binary anew each time, so these packages keep suites that build small and run in about a
# second: the query builder lives in store/sqlite/internal/query with tests of its own (the
# store's suite takes minutes), firebasetest takes its keys from published test keys instead of
# generating RSA keys, and the firebase tests use a clock of their own instead of authtest
# (which would link the engine and SQLite into every build).
#
# Measured on the 2-core development machine, the first five packages in one run, with other work
# running (load average 5 to 11): 14 min 5 s of wall time and 11 min 50 s of CPU time (user
# 8 min 10 s, sys 3 min 40 s), so about 6 to 7 minutes on two idle cores (not measured idle; a
# first run under a load average of 8 to 13 took 22 min 25 s for the same 12 min of CPU).
#   internal/canon               107 of 109 killed (98.2%), 91 not covered, 152 s
#   identity/firebase            183 of 184 killed (99.5%), 15 not covered, 265 s
#   identity/webhook              94 of  94 killed (100%),  17 not covered, 127 s
#   blob                          97 of  97 killed (100%),   1 not covered, 210 s
#   store/sqlite/internal/query  108 of 108 killed (100%),  14 not covered,  87 s
#   store/internal/usersql        21 of  21 killed (100%),   0 not covered,  13 s (added later,
#                                 measured alone on an idle machine)
# No mutant timed out. The three mutants left alive are equivalent, no input tells them apart:
#   internal/canon email.go ldhLabel's loop (c <= 'z' and the like): the IDNA check before it
#     already refuses what the loop would;
#   internal/canon profile.go Website's len(s) <= n: url.Parse never yields a scheme filling s;
#   identity/firebase claims.go checkJSON's walkJSON(...) != nil: with == the walk's errors
#     fall through to the trailing-data check and json.Unmarshal, which refuse the same input.
# Where a guard or comparison only a mutant could flip was redundant (copyCapped's n > 0 and
# len(head) < headLen, walk's ctx.Err() branch, isTokenChar's r < RuneSelf, FullName's
# prev := -1, maxAge's n < 0 and n < cap, parseKeys' len(raw) > 0), the code lost it.
# "Not covered" counts mutants in code no test of the package runs, and switch case
# expressions, which Go's coverage profile does not attribute to a block. gremlins v0.6.0 counts a
# mutant that does not compile (a string + turned into -) as killed.
#
# Environment:
#   FLOOR    least efficacy per package, in percent (default 95)
#   WORKERS  gremlins workers (default: gremlins' own, the number of CPUs)
#   TIMEOUT_COEFFICIENT  how many times the package's coverage run (go test -cover of the
#            package and those under it, build included) a mutant may take before it counts as
#            timed out (default 10: on a loaded machine gremlins' own default of 3 times out
#            many mutants, which then count neither as killed nor as lived)
#
# go vet is off for the mutants' test runs (GOFLAGS -vet=off): it adds a second or more to each
# and the mutants are judged by the tests alone.
#
# gremlins mutates source files while it runs. It runs here on a copy of the working tree in a
# temporary directory, removed at exit, so the tree is never modified, even when the run is
# killed; the script also checks at the end that the tree is as it was.
set -euo pipefail
cd "$(dirname "$0")/.."

GREMLINS=github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
FLOOR=${FLOOR:-95}

# The packages, and for each a regexp of its files left out, matched against paths relative to
# the package's directory. gremlins mutates every package under the one it is given; the test
# helpers and the S3 store have suites of their own, too slow to run once per mutant.
declare -A EXCLUDE=(
  [internal/canon]=''
  [identity/firebase]='^firebasetest/'
  [identity/webhook]=''
  [blob]='^(blobtest|s3)/'
  [store/sqlite/internal/query]=''
  [store/internal/usersql]=''
)
DEFAULT=(internal/canon identity/firebase identity/webhook blob store/sqlite/internal/query store/internal/usersql)
if [ $# -gt 0 ]; then pkgs=("$@"); else pkgs=("${DEFAULT[@]}"); fi

before=$( (git status --porcelain --untracked-files=all; git diff) | sha256sum)

work=$(mktemp -d)
bin=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work" "$bin"' EXIT
GOBIN="$bin" go install "$GREMLINS"
export GOFLAGS="$(go env GOFLAGS) -vet=off"
# Tracked and untracked (not ignored) files: what `go test` here would see.
git ls-files -z --cached --others --exclude-standard | grep -zv '^rest/e2e/node_modules/' |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$work" -xf -

failed=0
summary=""
for p in "${pkgs[@]}"; do
  if [ -z "${EXCLUDE[$p]+set}" ]; then
    echo "mutation.sh: unknown package $p (known: ${DEFAULT[*]})" >&2
    exit 2
  fi
  args=(unleash "./$p" --output-statuses lt)
  [ -n "${EXCLUDE[$p]}" ] && args+=(--exclude-files "${EXCLUDE[$p]}")
  args+=(--timeout-coefficient "${TIMEOUT_COEFFICIENT:-10}")
  [ -n "${WORKERS:-}" ] && args+=(--workers "$WORKERS")
  echo "== $p"
  start=$SECONDS
  out=$(cd "$work" && "$bin/gremlins" "${args[@]}" 2>&1) || {
    echo "$out"
    echo "mutation.sh: gremlins failed on $p" >&2
    exit 1
  }
  echo "$out" | grep -E 'LIVED|TIMED OUT|Killed:|Timed out:|efficacy|coverage' || true
  killed=$(echo "$out" | sed -n 's/.*Killed: \([0-9]*\),.*/\1/p' | tail -1)
  lived=$(echo "$out" | sed -n 's/.*Lived: \([0-9]*\),.*/\1/p' | tail -1)
  uncovered=$(echo "$out" | sed -n 's/.*Not covered: \([0-9]*\).*/\1/p' | tail -1)
  timedout=$(echo "$out" | sed -n 's/.*Timed out: \([0-9]*\),.*/\1/p' | tail -1)
  if [ -z "$killed" ] || [ -z "$lived" ]; then
    echo "$out"
    echo "mutation.sh: no summary from gremlins for $p" >&2
    exit 1
  fi
  covered=$((killed + lived))
  if [ "$covered" -eq 0 ]; then
    eff=0
  else
    eff=$((killed * 10000 / covered)) # hundredths of a percent
  fi
  verdict=ok
  if [ "$eff" -lt $((FLOOR * 100)) ]; then
    verdict="BELOW THE FLOOR OF $FLOOR%"
    failed=1
  fi
  line=$(printf '%-28s killed %4d of %4d: %3d.%02d%% efficacy (%d timed out, %d not covered, %ds) %s' \
    "$p" "$killed" "$covered" $((eff / 100)) $((eff % 100)) "${timedout:-0}" "${uncovered:-0}" $((SECONDS - start)) "$verdict")
  echo "$line"
  summary+="$line"$'\n'
done

after=$( (git status --porcelain --untracked-files=all; git diff) | sha256sum)
if [ "$before" != "$after" ]; then
  echo "mutation.sh: the working tree changed during the run" >&2
  exit 1
fi
echo
echo "Mutation testing (floor $FLOOR% efficacy per package):"
printf '%s' "$summary"
exit $failed
