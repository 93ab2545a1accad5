#!/usr/bin/env bash
# The hostile-input fuzzer at full size (not CI: minutes of CPU). The test suite runs a seeded slice of the same
# cases (HostileInputTests); this runs millions. Any unclassified case makes it exit 1 and prints the case's hex.
#   scripts/fuzz.sh [--seed N] [--events N] [--ndjson N] [--policies N]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project bench/StreamGuard.Bench -- fuzz "$@"
