#!/usr/bin/env bash
# The project's test command (README "Quick start"). Installs the local tools the tests need, then runs every test.
# Tests that need storage start their own Azurite (node_modules/.bin/azurite) on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
log="$(mktemp -t resnest-test.XXXXXX)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test ResNeSt.Functions.sln --nologo "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole solution, summed over the test projects' "Passed!/Failed!" lines.
awk '/(Passed|Failed)! +- +Failed: /{
       for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { gsub(",", "", f); printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
