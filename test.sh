#!/usr/bin/env bash
# The project's test command (README "Test"). On a fresh Debian machine with the .NET SDK and Node.js it installs what
# the tests need and runs every test:
#   - Debian packages: shellcheck (hook lint), python3-jmespath (the fake az evaluates --query as the real az does),
#     chromium (the web page's browser test); installed with apt-get when missing (as root; otherwise it says what to
#     install and stops);
#   - npm packages (Azurite) from package-lock.json; the Functions host comes from ../shared/functions-host (or `func`).
# Tests that need storage start their own Azurite on free loopback ports; the host tests start the real host.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
/usr/bin/python3 -c 'import jmespath' >/dev/null 2>&1 || missing+=(python3-jmespath)
[ -x /usr/bin/chromium ] || [ -n "${RESNEST_CHROMIUM:-}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing ${missing[*]}; install them (Debian: sudo apt-get install ${missing[*]}) and run again." >&2
    exit 1
  fi
fi

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
