#!/usr/bin/env bash
# GPU check: runs `resnest bench --provider cuda` on random-weights resnest50 in fp32 and fp16 at batch 1, 8 and 32
# and prints the numbers. For a Linux machine with an NVIDIA GPU and its driver, CUDA 13 and cuDNN 9 libraries
# (system-wide, or only as Python wheels: nvidia-cublas, nvidia-cudnn-cu13, nvidia-cuda-runtime, nvidia-cufft,
# nvidia-curand), and NO .NET: it runs a self-contained build of the CLI.
#
# 1. On a machine with the .NET 10 SDK, publish the CLI (self-contained, so the GPU machine needs no .NET):
#      dotnet publish src/ResNeSt.Cli -c Release -r linux-x64 --self-contained -o artifacts/resnest-linux-x64
# 2. Copy the repository (or at least artifacts/resnest-linux-x64, samples/images and this script) to the GPU machine.
# 3. Run: tools/gpu-check.sh
#
# Environment overrides:
#   RESNEST        the published executable            (default: artifacts/resnest-linux-x64/resnest)
#   IMAGES         directory of images for the bench   (default: samples/images)
#   WORK_DIR       where the exported models go        (default: a new temporary directory)
#   BENCH_SECONDS  end-to-end seconds per bench run    (default: 10; bare inference gets the same in total)
#   BATCHES        batch sizes                         (default: "1 8 32")
#   PRECISIONS     model precisions                    (default: "fp32 fp16")
#   CUDA_LIB_DIRS  extra ':'-separated library directories to search first
#   PROVIDER       cuda (default), or cpu for a dry run of the whole script on a machine without a GPU
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
resnest="${RESNEST:-$repo_root/artifacts/resnest-linux-x64/resnest}"
images="${IMAGES:-$repo_root/samples/images}"
work_dir="${WORK_DIR:-$(mktemp -d -t resnest-gpu-check.XXXXXX)}"
bench_seconds="${BENCH_SECONDS:-10}"
read -r -a batches <<< "${BATCHES:-1 8 32}"
read -r -a precisions <<< "${PRECISIONS:-fp32 fp16}"
provider="${PROVIDER:-cuda}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }

[ -x "$resnest" ] || die "no executable at $resnest; publish it first (see the top of this script) or set RESNEST."
[ -d "$images" ] || die "no image directory at $images; set IMAGES."
if [ "$provider" = cuda ]; then
  command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi not found: no NVIDIA driver on this machine."
  say "GPU"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2
fi

# Library directories: explicit ones, the CUDA toolkit, then every nvidia/*/lib inside Python site-packages
# (the pip wheels put libcudart, libcublas, libcudnn, ... there; CUDA 13 wheels use nvidia/cu13/lib).
lib_dirs=()
if [ -n "${CUDA_LIB_DIRS:-}" ]; then
  IFS=':' read -r -a extra <<< "$CUDA_LIB_DIRS"
  lib_dirs+=("${extra[@]}")
fi
for dir in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu; do
  [ -d "$dir" ] && lib_dirs+=("$dir")
done
site_dirs=()
for python in python3 python; do
  if command -v "$python" >/dev/null 2>&1; then
    while IFS= read -r dir; do
      site_dirs+=("$dir")
    done < <("$python" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null || true)
  fi
done
[ -n "${VIRTUAL_ENV:-}" ] && site_dirs+=("$VIRTUAL_ENV"/lib/python3*/site-packages)
site_dirs+=(/usr/local/lib/python3*/dist-packages /usr/local/lib/python3*/site-packages /usr/lib/python3*/dist-packages /opt/conda/lib/python3*/site-packages)
for dir in "${site_dirs[@]}"; do
  [ -d "$dir/nvidia" ] || continue
  for lib in "$dir"/nvidia/*/lib; do
    [ -d "$lib" ] && lib_dirs+=("$lib")
  done
done

ld_path=""
declare -A seen=()
for dir in "${lib_dirs[@]}"; do
  [ -n "${seen[$dir]:-}" ] && continue
  seen[$dir]=1
  ld_path="${ld_path:+$ld_path:}$dir"
done
export LD_LIBRARY_PATH="${ld_path}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "LD_LIBRARY_PATH"
tr ':' '\n' <<< "$LD_LIBRARY_PATH" >&2

# ORT loads its CUDA provider with dlopen; check its dependencies now for a clear message instead of a fallback.
provider_lib="$(dirname "$resnest")/libonnxruntime_providers_cuda.so"
[ -f "$provider_lib" ] || die "$provider_lib is missing: publish with -r linux-x64 (the GPU build of ONNX Runtime)."
missing="$(ldd "$provider_lib" | awk '/not found/ {print $1}')"
[ -z "$missing" ] || [ "$provider" != cuda ] || die "CUDA/cuDNN libraries not found: $(tr '\n' ' ' <<< "$missing")(install CUDA 13 + cuDNN 9, or the nvidia-* wheels, or set CUDA_LIB_DIRS)."
say "CUDA provider dependencies"
ldd "$provider_lib" | grep -E 'libcu(dart|blas|blasLt|dnn|fft|rand)' >&2 || true

mkdir -p "$work_dir"
results="$work_dir/results.jsonl"
: > "$results"
for precision in "${precisions[@]}"; do
  model="$work_dir/resnest50-random-$precision.onnx"
  if [ ! -f "$model" ]; then
    say "export resnest50 ($precision, random weights) -> $model"
    "$resnest" export --variant resnest50 --random-weights --precision "$precision" --output "$model" >&2
  fi
  for batch in "${batches[@]}"; do
    say "bench resnest50 $precision batch $batch ($provider)"
    "$resnest" bench --model "$model" --images "$images" --provider "$provider" --batch "$batch" --seconds "$bench_seconds" | tee -a "$results"
  done
done

say "summary ($results)"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"{'precision':9} {'batch':>5} {'e2e img/s':>10} {'bare img/s':>10} {'ratio':>6} {'p50 ms':>8} {'p95 ms':>8} {'decode ms':>9} {'infer ms/batch':>14} {'peak MB':>8}  provider")
for r in rows:
    e = r["endToEnd"]
    print(f"{r['precision']:9} {r['batch']:5d} {e['imagesPerSecond']:10.1f} {r['bareInference']['imagesPerSecond']:10.1f} "
          f"{r['endToEndOverBare']:6.3f} {e['latencyMs']['p50']:8.1f} {e['latencyMs']['p95']:8.1f} "
          f"{r['stages']['decodeAndPreprocessMs']:9.2f} {r['stages']['inferenceMsPerBatch']:14.2f} {r['peakWorkingSetMb']:8.0f}  {r['provider']}")
PY
else
  cat "$results"
fi
