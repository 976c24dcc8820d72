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
# Then, when PHONE_PHOTOS is set (a directory from tools/make-phone-photos.py, made anywhere and copied), the phone-photo
# check of issue 14: `resnest bench` at batch 32 on those photos with the CPU limited to 8 cores (taskset -c 0-7, the
# NC8as-T4 replica's shape), --decode fast and --decode exact (goal: end to end >= 0.8x bare with fast); then the
# engine variants under ONNX Runtime's Python API (tools/ort-gpu-variants.py: cuDNN heuristic/exhaustive search, NHWC,
# CUDA graphs with I/O binding, fp32 and fp16) when `import onnxruntime` offers CUDAExecutionProvider; then PyTorch
# eager fp16 on the same card (tools/torch-pipeline.py bench --device cuda --half) when torch sees CUDA. All of these
# print JSON lines into $WORK_DIR/phone.jsonl and a table at the end.
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
#   PHONE_PHOTOS   directory of phone-sized JPEGs for the issue-14 check (default: unset, check skipped)
#   CPUSET         CPUs the phone-photo bench may use  (default: 0-7)
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

[ -n "${PHONE_PHOTOS:-}" ] || { say "PHONE_PHOTOS not set: phone-photo check skipped"; exit 0; }
[ -d "$PHONE_PHOTOS" ] || die "PHONE_PHOTOS=$PHONE_PHOTOS is not a directory."
cpuset="${CPUSET:-0-7}"
phone="$work_dir/phone.jsonl"
: > "$phone"
fp16_model="$work_dir/resnest50-random-fp16.onnx"
fp32_model="$work_dir/resnest50-random-fp32.onnx"
for m in "$fp32_model" "$fp16_model"; do
  [ -f "$m" ] || "$resnest" export --variant resnest50 --random-weights --precision "$(basename "$m" .onnx | sed 's/.*-//')" --output "$m" >&2
done
for decode in fast exact; do
  for m in "$fp16_model" "$fp32_model"; do
    say "phone photos: bench $(basename "$m") batch 32 --decode $decode, taskset -c $cpuset"
    taskset -c "$cpuset" "$resnest" bench --model "$m" --images "$PHONE_PHOTOS" --provider "$provider" --batch 32 \
      --seconds "$bench_seconds" --decode "$decode" | tee -a "$phone"
  done
done
if [ "$provider" = cuda ] && python3 -c 'import onnxruntime as o, sys; sys.exit("CUDAExecutionProvider" not in o.get_available_providers())' 2>/dev/null; then
  say "engine variants (onnxruntime $(python3 -c 'import onnxruntime as o; print(o.__version__)'))"
  python3 "$repo_root/tools/ort-gpu-variants.py" "$fp32_model" --batch 32 --seconds "$bench_seconds" | tee -a "$phone"
  python3 "$repo_root/tools/ort-gpu-variants.py" "$fp16_model" --batch 32 --seconds "$bench_seconds" --fp16 | tee -a "$phone"
else
  say "engine variants skipped: no onnxruntime with CUDAExecutionProvider for python3 (pip install onnxruntime-gpu numpy)"
fi
if [ "$provider" = cuda ] && python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  say "PyTorch eager fp16 and fp32, batch 32, same photos"
  for half in --half ""; do
    taskset -c "$cpuset" python3 "$repo_root/tools/torch-pipeline.py" --threads 8 bench --images "$PHONE_PHOTOS" --device cuda \
      --batch 32 --seconds "$bench_seconds" --workers 6 $half | tee -a "$phone"
  done
else
  say "PyTorch comparison skipped: python3 has no CUDA-enabled torch"
fi
say "phone-photo summary ($phone)"
python3 - "$phone" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "endToEnd" in r:
        print(f"resnest {r['precision']:5} decode={r.get('decode','?'):5} batch {r['batch']}: e2e {r['endToEnd']['imagesPerSecond']:.1f} img/s, "
              f"bare {r['bareInference']['imagesPerSecond']:.1f}, ratio {r['endToEndOverBare']:.3f} (goal >= 0.8 with fast), "
              f"decode {r['stages']['decodeAndPreprocessMs']:.2f} ms, peak {r['peakWorkingSetMb']:.0f} MB")
    elif r.get("pipeline") == "torch":
        print(f"torch {r['precision']:5} batch {r['batch']}: e2e {r['endToEndImagesPerSecond']:.1f} img/s, bare {r['bareImagesPerSecond']:.1f}")
    else:
        print(f"ort {r.get('precision','?'):5} {r['variant']:28} {r.get('imagesPerSecond', r.get('error'))}")
PY
