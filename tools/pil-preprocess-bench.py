#!/usr/bin/python3
"""PIL's side of the one-core preprocessing table (docs/decoding.md): CPU ms per image, median of ~100 ms batches,
for the seed's pipeline (open, convert RGB, Resize(256), CenterCrop(224), ToTensor, Normalize) with and without
Image.draft('RGB', (256, 256)) (libjpeg's reduced-size decode). Same measuring scheme as
bench/ResNeSt.Preprocessing.Bench (thread CPU time, so a shared machine's other load counts less).

  pil-preprocess-bench.py [--seconds 2] FILE...
"""
import argparse
import io
import json
import os
import time

import torch
import torchvision.transforms as T
from PIL import Image

torch.set_num_threads(1)
TRANSFORM = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])


def full(data):
    with Image.open(io.BytesIO(data)) as img:
        return TRANSFORM(img.convert("RGB"))


def draft(data):
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (256, 256))
        return TRANSFORM(img.convert("RGB"))


def decode_only(data, use_draft):
    with Image.open(io.BytesIO(data)) as img:
        if use_draft:
            img.draft("RGB", (256, 256))
        img.load()


def measure(seconds, fn):
    clock = time.thread_time
    warm = clock()
    while clock() - warm < min(0.5, seconds / 4):
        fn()
    samples, total = [], clock()
    while clock() - total < seconds or len(samples) < 5:
        start, n = clock(), 0
        while True:
            fn()
            n += 1
            if clock() - start >= 0.1:
                break
        samples.append((clock() - start) * 1000 / n)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    for f in args.files:
        data = open(f, "rb").read()
        print(json.dumps({
            "file": os.path.basename(f),
            "pilDecodeMs": round(measure(args.seconds, lambda: decode_only(data, False)), 2),
            "pilDraftDecodeMs": round(measure(args.seconds, lambda: decode_only(data, True)), 2),
            "pilPipelineMs": round(measure(args.seconds, lambda: full(data)), 2),
            "pilDraftPipelineMs": round(measure(args.seconds, lambda: draft(data)), 2),
        }), flush=True)


if __name__ == "__main__":
    main()
