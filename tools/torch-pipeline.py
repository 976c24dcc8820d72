#!/usr/bin/python3
"""The PyTorch reference pipeline: the torch.hub page's code (PIL -> Resize(256) -> CenterCrop(224) -> ToTensor ->
Normalize -> model -> softmax) around the ResNeSt module of tools/make-checkpoint-fixtures.py.

It is what `resnest classify` and `resnest bench` are compared against. Runs on Debian's PyTorch 1.13 (CPU) and on a
GPU machine's PyTorch 2.x (`--device cuda`).

  checkpoint --variant resnest50 --seed 1 --output W.pth [--compact] [--crop S]
      a full-size official-layout checkpoint with random weights whose BatchNorm statistics are calibrated on the
      sample images (so activations stay in range and the logits are spread out, like a trained network's)
  classify --checkpoint W.pth [--variant resnest50] [--crop 224] [--device cpu|cuda] [--top 5] FILE...
      one JSON object per image per line: file, predictions (index, probability), logits
  bench --images DIR [--checkpoint W.pth] [--batch N] [--seconds S] [--device cpu|cuda] [--half] [--workers N]
      images/s of the whole pipeline (decode + preprocess + model) and of the bare model on ready tensors, same run
  export --checkpoint W.pth --output M.onnx [--variant resnest50] [--crop 224]
      torch.onnx.export of the same weights (dynamic batch, opset 13), to compare with `resnest export`'s folded graph

Use `/usr/bin/python3` here (Debian's torch); it sets torch.set_num_threads(2) like the fixtures script.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torchvision.transforms as T
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("resnest_fixtures", os.path.join(HERE, "make-checkpoint-fixtures.py"))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


VARIANTS = dict(fixtures.OFFICIAL, reduced=(fixtures.REDUCED_BLOCKS, fixtures.REDUCED_STEM))


def build(variant):
    blocks, stem = VARIANTS[variant]
    return fixtures.ResNeSt(blocks, stem)


def seed_transform(crop):
    # The torch.hub page's preprocessing; for crops other than 224 the conventional resize is int(S / 0.875).
    resize = 256 if crop == 224 else int(crop / 0.875)
    return T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(), T.Normalize(MEAN, STD)])


def load_image(path, transform):
    with Image.open(path) as img:
        return transform(img.convert("RGB"))


def image_files(directory):
    files = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.lower().endswith(EXTENSIONS))
    if not files:
        sys.exit(f"no images in {directory}")
    return files


def load_checkpoint(model, path):
    state = torch.load(path, map_location="cpu")
    if "state_dict" in state:
        state = state["state_dict"]
    model.load_state_dict(state)


def cmd_checkpoint(args):
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    model = build(args.variant)
    views = {}
    with torch.no_grad():
        # Classifier: a wider spread than the default init, so top-5 gaps are far above float rounding.
        model.fc.weight.normal_(0, 0.05, generator=g)
        model.fc.bias.normal_(0, 0.5, generator=g)
        if args.compact:
            # Every convolution and the classifier become float16, their values read through overlapping strided
            # views of one small random storage (how the committed torch-parity checkpoint's values were first made),
            # then copied out in full: the checkpoint holds each tensor in its own storage, as a saved state_dict does
            # (a checkpoint of the overlapping views themselves is refused by the reader).
            base = (torch.randn(1 << 17, generator=g) * 0.05).half()
            for key, t in model.state_dict().items():
                if t.dim() >= 2:
                    view = fixtures.strided_view(base, list(t.shape), int(torch.randint(0, 1 << 30, (1,), generator=g)), g)
                    views[key] = view.clone(memory_format=torch.contiguous_format)
                    t.copy_(views[key].float())
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                # Train-mode pass with momentum 1: every running statistic becomes the statistic of the activations
                # that layer sees, computed through the already-calibrated layers before it, in one forward pass.
                m.momentum = 1.0
        transform = seed_transform(args.crop)
        images = [load_image(f, transform) for f in image_files(args.images)]
        noise = torch.randn(max(0, 8 - len(images)), 3, args.crop, args.crop, generator=g)
        model.train()
        model(torch.cat([torch.stack(images), noise]))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.1
                # A little perturbation, so that no statistic equals what a fresh batch would give.
                m.running_mean.add_(torch.randn(m.num_features, generator=g) * 0.05 * m.running_var.sqrt())
                m.running_var.mul_(torch.rand(m.num_features, generator=g) * 0.2 + 0.9)
    model.eval()
    state = model.state_dict()
    torch.save(type(state)((k, views.get(k, t)) for k, t in state.items()), args.output)
    print(json.dumps({"checkpoint": args.output, "variant": args.variant, "seed": args.seed, "sha256": fixtures.sha256(args.output)}))


def cmd_classify(args):
    device = torch.device(args.device)
    model = build(args.variant)
    load_checkpoint(model, args.checkpoint)
    model.eval().to(device)
    transform = seed_transform(args.crop)
    for path in args.files:
        x = load_image(path, transform).unsqueeze(0).to(device)
        with torch.no_grad():
            logits = model(x)[0].double().cpu()
        probs = torch.softmax(logits, dim=0)
        top = torch.topk(probs, args.top)
        print(json.dumps({
            "file": os.path.basename(path),
            "predictions": [{"index": int(i), "probability": float(p)} for p, i in zip(top.values, top.indices)],
            "logits": [float(v) for v in logits],
        }))


def cmd_export(args):
    model = build(args.variant)
    load_checkpoint(model, args.checkpoint)
    model.eval()
    x = torch.zeros(1, 3, args.crop, args.crop)
    torch.onnx.export(model, x, args.output, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=13, do_constant_folding=True)
    print(json.dumps({"onnx": args.output, "torch": torch.__version__, "opset": 13}))


class Files(torch.utils.data.Dataset):
    def __init__(self, files, transform, length):
        self.files, self.transform, self.length = files, transform, length

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return load_image(self.files[i % len(self.files)], self.transform)


def cmd_bench(args):
    device = torch.device(args.device)
    model = build(args.variant)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    model.eval().to(device)
    dtype = torch.float16 if args.half else torch.float32
    if args.half:
        model.half()
    transform = seed_transform(args.crop)
    files = image_files(args.images)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def forward(batch):
        with torch.no_grad():
            out = model(batch.to(device, dtype, non_blocking=True))
            probs = torch.softmax(out.float(), dim=1)
            return torch.topk(probs, 5).indices.cpu()

    ready = torch.stack([load_image(files[i % len(files)], transform) for i in range(args.batch)])
    for _ in range(3):
        forward(ready)
    sync()

    # Bare model on a ready batch.
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        forward(ready)
        count += args.batch
    sync()
    bare = count / (time.perf_counter() - start)

    # The whole pipeline: decode + preprocess (the seed's code, in this process, or in DataLoader workers) + model.
    loader = torch.utils.data.DataLoader(
        Files(files, transform, 1 << 30), batch_size=args.batch, num_workers=args.workers,
        pin_memory=device.type == "cuda", persistent_workers=args.workers > 0)
    count, start = 0, time.perf_counter()
    for batch in loader:
        forward(batch)
        count += args.batch
        if time.perf_counter() - start >= args.seconds:
            break
    sync()
    e2e = count / (time.perf_counter() - start)
    print(json.dumps({
        "pipeline": "torch", "torch": torch.__version__, "device": args.device,
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
        "threads": torch.get_num_threads(), "workers": args.workers, "variant": args.variant,
        "precision": "fp16" if args.half else "fp32", "batch": args.batch, "crop": args.crop,
        "checkpoint": bool(args.checkpoint), "endToEndImagesPerSecond": round(e2e, 2),
        "bareImagesPerSecond": round(bare, 2), "endToEndOverBare": round(e2e / bare, 3)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2, this machine's cores)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("checkpoint")
    p.add_argument("--variant", default="resnest50", choices=sorted(VARIANTS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--images", default=os.path.join(HERE, "..", "samples", "images"))
    p.add_argument("--output", required=True)
    p.add_argument("--compact", action="store_true", help="weights as float16 (values from strided views of one small storage)")
    p = sub.add_parser("classify")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--variant", default="resnest50", choices=sorted(VARIANTS))
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--device", default="cpu")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("files", nargs="+")
    p = sub.add_parser("bench")
    p.add_argument("--images", required=True)
    p.add_argument("--checkpoint")
    p.add_argument("--variant", default="resnest50", choices=sorted(VARIANTS))
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--half", action="store_true")
    p.add_argument("--workers", type=int, default=0)
    p = sub.add_parser("export")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--variant", default="resnest50", choices=sorted(VARIANTS))
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    {"checkpoint": cmd_checkpoint, "classify": cmd_classify, "bench": cmd_bench, "export": cmd_export}[args.command](args)


if __name__ == "__main__":
    main()
