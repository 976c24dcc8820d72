#!/usr/bin/env bash
# End to end against bare inference, fast and exact decoding, and the seed's PyTorch pipeline on the same images, in
# interleaved rounds (docs/decoding.md):
#   tools/e2e-bench.sh OUT_DIR ROUNDS SECONDS MODEL.onnx CHECKPOINT.pth IMAGE_DIR [BATCH]
# MODEL.onnx is `resnest export` of CHECKPOINT.pth (tools/torch-pipeline.py checkpoint). Prints one JSON line per run
# (resnest bench: endToEndOverBare, peakWorkingSetMb; torch: endToEndImagesPerSecond) into OUT_DIR/runs.jsonl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1"; rounds="$2"; seconds="$3"; model="$4"; checkpoint="$5"; images="$6"; batch="${7:-8}"
resnest="${RESNEST:-$root/src/ResNeSt.Cli/bin/Release/net10.0/resnest}"
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for decode in fast exact; do
    uptime >> "$out/uptime.log"
    "$resnest" bench --model "$model" --images "$images" --batch "$batch" --seconds "$seconds" --provider cpu --decode "$decode" \
      | tee -a "$out/runs.jsonl"
  done
  uptime >> "$out/uptime.log"
  /usr/bin/python3 "$root/tools/torch-pipeline.py" bench --images "$images" --checkpoint "$checkpoint" --batch "$batch" \
    --seconds "$seconds" | tee -a "$out/runs.jsonl"
done
