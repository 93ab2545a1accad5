#!/usr/bin/env bash
# Soak (not CI): a real `streamguard run` process fed 200 reads/s while the broker leading every output partition is
# down for 10 minutes; prints the worker's peak resident memory before, during and after the stall against a cap.
#   scripts/soak-stall.sh [--stall-minutes N] [--rate N] [--cap-mib N]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/StreamGuard.Cli -c Release -o /tmp/streamguard-soak-cli >/dev/null
dotnet run -c Release --project bench/StreamGuard.Bench -- soak-stall --cli /tmp/streamguard-soak-cli/streamguard.dll --policy samples/policy.yaml "$@"
