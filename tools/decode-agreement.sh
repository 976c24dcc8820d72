#!/usr/bin/env bash
# Fidelity of `--decode fast` against `--decode exact` on a directory of photos (docs/decoding.md):
#   tools/decode-agreement.sh MODEL.onnx PHOTO_DIR [OUT_DIR]
# Make the photos with tools/make-phone-photos.py and the model from the calibrated ResNeSt-50 checkpoint:
#   /usr/bin/python3 tools/torch-pipeline.py checkpoint --variant resnest50 --seed 1 --output r50.pth
#   resnest export --variant resnest50 --checkpoint r50.pth -o r50.onnx
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="$1"; photos="$2"; out="${3:-$(mktemp -d)}"
resnest="${RESNEST:-$root/src/ResNeSt.Cli/bin/Release/net10.0/resnest}"
mkdir -p "$out"
for mode in exact fast; do
  "$resnest" classify --model "$model" --provider cpu --logits --decode "$mode" "$photos"/*.jpg > "$out/$mode.jsonl"
done
/usr/bin/python3 "$root/tools/decode-agreement.py" "$out/exact.jsonl" "$out/fast.jsonl"
