#!/usr/bin/env bash
# One-core preprocessing, ours (exact and fast) side by side with PIL's pipeline and PIL's draft pipeline, in
# interleaved rounds so the shared machine's drift hits both alike (docs/decoding.md):
#   tools/preprocess-bench.sh OUT_DIR [ROUNDS] FILE...
# Both sides report thread CPU ms per image (median of ~100 ms batches); uptime is logged before each round.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1"; rounds="$2"; shift 2
mkdir -p "$out"
dotnet build "$root/bench/ResNeSt.Preprocessing.Bench" -c Release -v q -nologo >&2
bench="$root/bench/ResNeSt.Preprocessing.Bench/bin/Release/net10.0/ResNeSt.Preprocessing.Bench"
# A worker runs for hours on tier-1 (PGO) code; a 1 s window of 50-700 ms operations would otherwise time tier-0 code
# (the first recipe's 12 MP decode read 196 ms instead of 51). Promote methods after two calls, without delay.
export DOTNET_TC_CallCountThreshold=2 DOTNET_TC_CallCountingDelayMs=0
for r in $(seq 1 "$rounds"); do
  uptime | tee -a "$out/uptime.log" >&2
  taskset -c 1 "$bench" 1 "$@" > "$out/dotnet-$r.txt"
  taskset -c 1 /usr/bin/python3 "$root/tools/pil-preprocess-bench.py" --seconds 1 "$@" > "$out/pil-$r.jsonl"
done
