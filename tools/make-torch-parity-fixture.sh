#!/usr/bin/env bash
# Regenerates tests/ResNeSt.Inference.Tests/fixtures/torch-parity/: a weighted reduced ResNeSt checkpoint (crop 64,
# BatchNorm calibrated on the sample images) and PyTorch's classification of every sample image through the torch.hub
# pipeline (PIL + torchvision, Resize(73) + CenterCrop(64)): top-5 and raw logits (reference.jsonl).
#
# The checkpoint itself (~21 MB: float16 convolutions and classifier, each in its own storage as a saved state_dict
# holds them) is not committed. Its float16 values are overlapping strided views of one random storage of 2^17 values,
# copied out, so it is committed as a recipe (~0.5 MB):
#   reduced-seed5.recipe.bin   little-endian, back to back: the float16 base storage (2^17 values), then every tensor
#                              that is not a view of it (BatchNorm parameters and statistics, biases,
#                              num_batches_tracked), contiguous, in state_dict order
#   reduced-seed5.recipe.json  format "resnest-checkpoint-recipe/1"; the .bin's name and SHA-256; the base's dtype
#                              and element count; then per tensor, in state_dict order, key, dtype (float16, float32,
#                              float64, int64), shape and either "view": {offset, strides} (values =
#                              base.as_strided(shape, strides, offset), copied out contiguous) or "bytes":
#                              [start, length] into the .bin
# The tests expand it into a real .pth (tests/ResNeSt.TestSupport/ParityCheckpoint.cs, cached in the temp directory
# by the recipe's hash) and read that through the project's checkpoint reader; `tools/torch-pipeline.py expand` is
# the same expansion in Python. The reference below is computed on the recipe's expansion, not on the checkpoint
# the recipe was taken from (the `checkpoint` step checks that the two are equal, tensor by tensor).
#
# Needs Debian's python3-torch / python3-torchvision (run on a developer machine; CI only reads the committed files).
# Seed 5 is used because its smallest gap between consecutive top-6 logits on the samples is 0.008, far above
# float32 rounding, so an ordered top-5 comparison tests the pipeline rather than ties.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/tests/ResNeSt.Inference.Tests/fixtures/torch-parity"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
"$py" "$root/tools/torch-pipeline.py" checkpoint --variant reduced --crop 64 --compact --seed 5 \
  --output "$tmp/generated.pth" --recipe "$out/reduced-seed5" >&2
"$py" "$root/tools/torch-pipeline.py" expand --recipe "$out/reduced-seed5.recipe.json" --output "$tmp/reduced-seed5.pth" \
  --same-as "$tmp/generated.pth" >&2
"$py" "$root/tools/torch-pipeline.py" classify --variant reduced --crop 64 --checkpoint "$tmp/reduced-seed5.pth" \
  "$root"/samples/images/* > "$out/reference.jsonl"
"$py" -c 'import torch, torchvision; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")' > "$out/VERSIONS"
wc -c "$out"/* >&2
