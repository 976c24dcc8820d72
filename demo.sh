#!/usr/bin/env bash
# Quick start #1: the serverless pipeline on this machine, no Azure account needed.
# Starts a private Azurite, makes sure there is a model (the official resnest50, downloaded and converted once),
# uploads samples/images/*, classifies them with the same services the functions use, and prints the results.
#   ./demo.sh                    official resnest50 weights (needs the network once; cached in .cache/models)
#   ./demo.sh --random-weights   offline: seeded random weights (the pipeline runs, the labels mean nothing)
#   ./demo.sh --json             each result as GET /api/results/{blob} returns it, one JSON per line (table on stderr)
#   ./demo.sh --help             this text
# Everything but the results goes to stderr, so `./demo.sh --json | jq .` works.
set -euo pipefail
cd "$(dirname "$0")"
random=0
args=()
for arg in "$@"; do
  case "$arg" in
    -h|--help|-\?)
      echo "Usage: ./demo.sh [--random-weights] [--json] [resnest-dev demo options]"
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      echo "Other options are passed to 'resnest-dev demo' (see: dotnet tools/ResNeSt.DevTool/bin/Release/net10.0/resnest-dev.dll demo --help)."
      exit 0 ;;
    --random-weights) random=1 ;;
    *) args+=("$arg") ;;
  esac
done
[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund --loglevel=error >&2
# The dev tool (demo needs the Azurite launcher, which the shipped `resnest` does not carry) builds the CLI with it.
dotnet build tools/ResNeSt.DevTool -c Release --nologo -v quiet -clp:ErrorsOnly >&2
resnest=(dotnet src/ResNeSt.Cli/bin/Release/net10.0/resnest.dll)
resnest_dev=(dotnet tools/ResNeSt.DevTool/bin/Release/net10.0/resnest-dev.dll)
mkdir -p .cache/models
if [ "$random" = 1 ]; then model=.cache/models/resnest50-random-seed0.onnx; else model=.cache/models/resnest50.onnx; fi
if [ ! -f "$model" ]; then
  if [ "$random" = 1 ]; then
    echo "Building resnest50 with seeded random weights (labels will be meaningless)..." >&2
    "${resnest[@]}" export --variant resnest50 --random-weights --seed 0 --output "$model" >&2
  elif ! "${resnest[@]}" export --variant resnest50 --download --output "$model" >&2; then
    rm -f "$model"
    echo "Could not download the official resnest50 checkpoint (offline?)." >&2
    echo "Run './demo.sh --random-weights' to run the same pipeline with random weights (the labels will be meaningless)." >&2
    exit 1
  fi
fi
exec "${resnest_dev[@]}" demo --model "$model" ${args[@]+"${args[@]}"}
