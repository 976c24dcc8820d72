#!/usr/bin/env bash
# Bare ONNX Runtime inference from .NET (`resnest bench`'s bareInference) against onnxruntime-node on the same model,
# in interleaved rounds so the machine's drift does not decide (docs/decoding.md):
#   tools/ort-compare.sh OUT_DIR ROUNDS SECONDS MODEL.onnx [MODEL.onnx ...]
# Each round runs every model in .NET and then in Node. A model without ResNeSt metadata (a torch export) is run
# with --crop 224. Needs `npm ci` in bench/ort-node; prints one JSON line per run and the per-round .NET/Node ratio.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1"; rounds="$2"; seconds="$3"; shift 3
resnest="${RESNEST:-$root/src/ResNeSt.Cli/bin/Release/net10.0/resnest}"
images="${IMAGES:-$root/samples/images}"
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for model in "$@"; do
    name="$(basename "$model" .onnx)"
    uptime >> "$out/uptime.log"
    "$resnest" bench --model "$model" --images "$images" --batch-size 8 --seconds "$seconds" --provider cpu --crop 224 \
      > "$out/dotnet-$name-$r.json"
    node "$root/bench/ort-node/bench.mjs" "$model" --batch 8 --seconds "$seconds" > "$out/node-$name-$r.json"
    /usr/bin/python3 - "$out/dotnet-$name-$r.json" "$out/node-$name-$r.json" "$name" "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["bareInference"]["imagesPerSecond"]
n = json.load(open(sys.argv[2]))["imagesPerSecond"]
print(json.dumps({"model": sys.argv[3], "round": int(sys.argv[4]), "dotnetBare": d, "node": n, "dotnetOverNode": round(d / n, 3)}))
PY
  done
done | tee "$out/ratios.jsonl"
