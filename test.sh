#!/usr/bin/env bash
# The project's test command (README "Quick start"). Installs the local tools the tests need, then runs every test.
# Tests that need storage start their own Azurite (node_modules/.bin/azurite) on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec dotnet test ResNeSt.Functions.sln --nologo "$@"
