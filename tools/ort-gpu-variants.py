#!/usr/bin/env python3
"""Engine variants on a GPU, for tools/gpu-check.sh: bare images/s of one ONNX model under ONNX Runtime's CUDA
provider with cuDNN heuristic vs exhaustive algorithm search, NHWC kernels (prefer_nhwc), CUDA graphs with I/O binding
of device buffers, at the batch given; one JSON line per variant. Needs the onnxruntime-gpu wheel and numpy on the GPU
machine (the .NET engine has only the search setting today; the rest is measured here first, to decide what to build).

  ort-gpu-variants.py MODEL.onnx [--batch 32] [--seconds 10] [--fp16]
"""
import argparse
import json
import time

import numpy as np
import onnxruntime as ort


def bench(model, batch, seconds, dtype, provider_options, graph):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, so, providers=[("CUDAExecutionProvider", provider_options)])
    name, out = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    size = sess.get_inputs()[0].shape[-1] if isinstance(sess.get_inputs()[0].shape[-1], int) else 224
    x = ort.OrtValue.ortvalue_from_numpy(np.random.default_rng(1).standard_normal((batch, 3, size, size)).astype(dtype), "cuda", 0)
    y = ort.OrtValue.ortvalue_from_shape_and_type((batch, 1000), dtype, "cuda", 0)
    binding = sess.io_binding()
    binding.bind_ortvalue_input(name, x)
    binding.bind_ortvalue_output(out, y)
    ro = ort.RunOptions()
    for _ in range(5):
        sess.run_with_iobinding(binding, ro)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sess.run_with_iobinding(binding, ro)
        count += batch
    binding.synchronize_outputs()
    return count / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--fp16", action="store_true", help="the model takes float16 input")
    a = p.parse_args()
    dtype = np.float16 if a.fp16 else np.float32
    variants = [
        ("heuristic", {"cudnn_conv_algo_search": "HEURISTIC"}, False),
        ("exhaustive", {"cudnn_conv_algo_search": "EXHAUSTIVE"}, False),
        ("exhaustive+nhwc", {"cudnn_conv_algo_search": "EXHAUSTIVE", "prefer_nhwc": "1"}, False),
        ("exhaustive+cudagraph", {"cudnn_conv_algo_search": "EXHAUSTIVE", "enable_cuda_graph": "1"}, True),
        ("exhaustive+nhwc+cudagraph", {"cudnn_conv_algo_search": "EXHAUSTIVE", "prefer_nhwc": "1", "enable_cuda_graph": "1"}, True),
    ]
    for name, options, graph in variants:
        try:
            ips = bench(a.model, a.batch, a.seconds, dtype, options, graph)
            print(json.dumps({"variant": name, "precision": "fp16" if a.fp16 else "fp32", "batch": a.batch, "imagesPerSecond": round(ips, 1),
                              "ort": ort.__version__}), flush=True)
        except Exception as e:  # a variant the build lacks is reported, not fatal
            print(json.dumps({"variant": name, "error": str(e)[:300]}), flush=True)


if __name__ == "__main__":
    main()
