#!/usr/bin/env bash
# Regenerates tests/ResNeSt.Cli.Tests/fixtures/torch-export/: tiny ResNeSt-shaped classifiers exported by PyTorch's
# torch.onnx.export (no ResNeSt metadata, torch's own I/O names) and PyTorch's classification of two samples, for the
# tests of `resnest annotate`. Needs Debian's python3-torch and python3-torchvision (CI only reads the committed files).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
/usr/bin/python3 "$root/tools/make-torch-onnx-fixture.py"
wc -c "$root"/tests/ResNeSt.Cli.Tests/fixtures/torch-export/* >&2
