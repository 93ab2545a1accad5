#!/usr/bin/env bash
# Seattle week ×10: `streamguard replay` against a naive single-threaded Python loop (naive.py) over the same reads,
# timed in the same run (issue 16). The Seattle Police week is converted ten times over, 8 days apart, so that
# Washington's 21-day cap purges the older copies as the replay goes on (934,900 reads); every read is pushed under
# two purposes to the King County Sheriff (allowed) and to the FBI (denied by statute): bench/seattle/policy.yaml.
#
#   bench/seattle/run.sh [--no-build] [--no-check] [--copies N] [--work DIR] [CSV.gz]
#
#   CSV.gz      the export (default ../shared/data/seattle-pd-alpr-2021-10.csv.gz, relative to the repository root)
#   --no-build  use the Release build already in src/StreamGuard.Cli/bin/Release
#   --no-check  report only; by default the run fails when replay is under 5× the naive loop or the audit is over
#               300 B per read (the issue's targets)
#   --copies N  copies of the week (default 10; the targets are for 10)
#   --work DIR  keep the reads and both outputs in DIR (default: a temporary directory, removed at the end)
#
# Both contenders are timed wall clock, start to end of their process, after `sync` so that the writeback of one's
# output does not land in the other's time. Both must produce the same deliveries: the same number of lines, and
# line for line the same recipient and read bytes (decision ids aside); the run fails loudly otherwise.
# A third line, the floor (floor.py), reads the same reads and writes as many bytes as replay wrote, computing
# nothing: the least that replay's job costs on this machine's file system, timed the same way.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=1 check=1 copies=10 work="" csv=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --no-check) check=0 ;;
    --copies) copies=${2:?--copies needs a number}; shift ;;
    --work) work=${2:?--work needs a directory}; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) csv=$1 ;;
  esac
  shift
done
csv=${csv:-$root/../shared/data/seattle-pd-alpr-2021-10.csv.gz}
if [ ! -f "$csv" ]; then
  echo "run.sh: no Seattle export at $csv (give its path as the argument)" >&2
  exit 2
fi
csv=$(cd "$(dirname "$csv")" && pwd)/$(basename "$csv")

if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/sg-seattle.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ "$build" -eq 1 ]; then
  dotnet build "$root/src/StreamGuard.Cli" -c Release -v quiet --nologo >/dev/null
fi
cli=$root/src/StreamGuard.Cli/bin/Release/net10.0/streamguard.dll
if [ ! -f "$cli" ]; then
  echo "run.sh: $cli is not built (run without --no-build)" >&2
  exit 2
fi
sg() { dotnet "$cli" "$@"; }
# The interpreter itself, resolved once: a version manager's python3 shim (pyenv) costs ~0.4 s a start, which
# would be timed into both Python lines.
py=$(python3 -c 'import sys; print(sys.executable)')

echo "machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r);" \
  "dotnet $(dotnet --version), $("$py" --version)"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"

sg gen --seattle "$csv" --copies "$copies" --out "$work"
# Replay's clock must be past the last copy: the week ends 9 October 06:51 UTC, each copy 8 days later.
now=$(date -u -d "2021-10-10 + $(( (copies - 1) * 8 )) days" +%Y-%m-%dT%H:%M:%SZ)
reads=$(wc -l < "$work/reads.ndjson")
rm -rf "$work/naive" "$work/replay"
mkdir -p "$work/naive" "$work/replay"

# seconds of wall, user and system time of one command, its output in LOG
TIMEFORMAT='%R %U %S'
timed() {
  local log=$1; shift
  sync
  { time "$@" >"$log" 2>&1; } 2>&1
}

# Both run in the work directory and name the reads `reads.ndjson`: the audit's `source` fields carry the path, so
# the audit's size does not depend on where the temporary directory is.
cd "$work"
if ! naive_t=$(timed "$work/naive.log" "$py" "$root/bench/seattle/naive.py" reads.ndjson naive); then
  cat "$work/naive.log" >&2; echo "run.sh: naive.py failed" >&2; exit 1
fi
if ! replay_t=$(timed "$work/replay.log" dotnet "$cli" replay --policy "$root/bench/seattle/policy.yaml" \
    --reads reads.ndjson --out replay --now "$now" --audit-key "file:$root/samples/keys/audit.key"); then
  cat "$work/replay.log" >&2; echo "run.sh: replay failed" >&2; exit 1
fi
cat "$work/replay.log"
# The floor: the same input read and the same output bytes written, nothing computed (floor.py).
sizes=()
for f in replay/*; do sizes+=("$(basename "$f")=$(stat -c %s "$f")"); done
rm -rf "$work/floor"
if ! floor_t=$(timed "$work/floor.log" "$py" "$root/bench/seattle/floor.py" reads.ndjson floor "${sizes[@]}"); then
  cat "$work/floor.log" >&2; rm -rf "$work/floor"; echo "run.sh: floor.py failed" >&2; exit 1
fi
rm -rf "$work/floor"

naive_deliveries=$(wc -l < naive/shared.ndjson)
replay_deliveries=$(wc -l < replay/shared.ndjson)
if [ "$naive_deliveries" -ne "$replay_deliveries" ]; then
  echo "run.sh: FAILED: the contenders disagree: naive.py delivered $naive_deliveries reads," \
    "replay $replay_deliveries" >&2
  exit 1
fi
# Line for line the same recipient and read, the decision id (the 8th '"'-separated field) aside.
if ! cmp -s <(cut -d'"' -f1-7,9- naive/shared.ndjson) <(cut -d'"' -f1-7,9- replay/shared.ndjson); then
  echo "run.sh: FAILED: naive/shared.ndjson and replay/shared.ndjson differ beyond their decision ids" >&2
  exit 1
fi

audit_bytes=$(stat -c %s replay/audit.ndjson)
read -r naive_s naive_user naive_sys <<<"$naive_t"
read -r replay_s replay_user replay_sys <<<"$replay_t"
read -r floor_s floor_user floor_sys <<<"$floor_t"
floor_ratio=$(awk -v n="$naive_s" -v f="$floor_s" 'BEGIN { printf "%.2f", n / f }')
replay_floor=$(awk -v f="$floor_s" -v r="$replay_s" 'BEGIN { printf "%.2f", f / r }')
target_s=$(awk -v n="$naive_s" 'BEGIN { printf "%.3f", n / 5 }')
ratio=$(awk -v n="$naive_s" -v r="$replay_s" 'BEGIN { printf "%.2f", n / r }')
cpu_ratio=$(awk -v nu="$naive_user" -v ns="$naive_sys" -v ru="$replay_user" -v rs="$replay_sys" \
  'BEGIN { printf "%.2f", (nu + ns) / (ru + rs) }')
per_read=$(awk -v a="$audit_bytes" -v r="$reads" 'BEGIN { printf "%.0f", a / r }')

echo
echo "reads:          $reads ($copies copies of the week; replay --now $now)"
echo "deliveries:     naive $naive_deliveries, replay $replay_deliveries (the same lines, decision ids aside)"
echo "naive.py:       $naive_s s wall (user $naive_user s, system $naive_sys s)"
echo "replay:         $replay_s s wall (user $replay_user s, system $replay_sys s)"
echo "ratio:          replay is ${ratio}× the naive baseline (naive seconds / replay seconds; target ≥ 5)"
echo "                (CPU seconds, user + system: ${cpu_ratio}×; a cross-check on a busy machine, not the target)"
echo "floor:          $floor_s s wall (user $floor_user s, system $floor_sys s): the reads read and replay's output"
echo "                bytes written, nothing computed (floor.py); floor / replay = ${replay_floor}"
echo "                5× the naive loop is $target_s s; naive / floor is ${floor_ratio}× in this run"
if awk -v f="$floor_s" -v t="$target_s" 'BEGIN { exit !(f > t) }'; then
  echo "                (the floor alone took longer than 5× the naive loop allows: on this machine, in this run,"
  echo "                writing replay's output cost more than the whole target)"
fi
echo "audit:          $audit_bytes B in audit.ndjson, $per_read B per read (target ≤ 300)"
echo "files:"
for f in reads.ndjson naive/* replay/*; do
  printf '  %-24s %15s B\n' "$f" "$(stat -c %s "$f")"
done

if [ "$check" -eq 1 ]; then
  failed=0
  if awk -v x="$ratio" 'BEGIN { exit !(x < 5) }'; then
    echo "run.sh: FAILED: replay is ${ratio}× the naive baseline, under the 5× target" >&2
    failed=1
  fi
  if [ "$per_read" -gt 300 ]; then
    echo "run.sh: FAILED: $per_read B of audit per read, over the 300 B target" >&2
    failed=1
  fi
  [ "$failed" -eq 0 ] || exit 1
  echo "run.sh: both targets met"
fi
