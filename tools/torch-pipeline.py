#!/usr/bin/python3
"""The PyTorch reference pipeline: the torch.hub page's code (PIL -> Resize(256) -> CenterCrop(224) -> ToTensor ->
Normalize -> model -> softmax) around the ResNeSt module of tools/make-checkpoint-fixtures.py.

It is what `resnest classify` and `resnest bench` are compared against. Runs on Debian's PyTorch 1.13 (CPU) and on a
GPU machine's PyTorch 2.x (`--device cuda`).

  checkpoint --variant resnest50 --seed 1 --output W.pth [--compact [--recipe PREFIX]] [--crop S]
      a full-size official-layout checkpoint with random weights whose BatchNorm statistics are calibrated on the
      sample images (so activations stay in range and the logits are spread out, like a trained network's);
      --recipe also writes PREFIX.recipe.json + PREFIX.recipe.bin, the small form of a --compact checkpoint that is
      committed instead of it (format: write_recipe below), and checks that it expands to the same tensors
  expand --recipe PREFIX.recipe.json --output W.pth [--same-as OTHER.pth]
      the checkpoint a recipe describes (torch.save of its state_dict); --same-as fails unless every tensor of OTHER
      equals it (torch.equal, same dtype and shape, same keys in the same order)
  classify --checkpoint W.pth [--variant resnest50] [--crop 224] [--device cpu|cuda] [--top 5] FILE...
      one JSON object per image per line: file, predictions (index, probability), logits
  bench --images DIR [--checkpoint W.pth] [--batch N] [--seconds S] [--device cpu|cuda] [--half] [--workers N]
      images/s of the whole pipeline (decode + preprocess + model) and of the bare model on ready tensors, same run
  export --checkpoint W.pth --output M.onnx [--variant resnest50] [--crop 224]
      torch.onnx.export of the same weights (dynamic batch, opset 13), to compare with `resnest export`'s folded graph

Use `/usr/bin/python3` here (Debian's torch); it sets torch.set_num_threads(2) like the fixtures script.
"""
import argparse
import collections
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
    views_of = {}  # key -> the strided view of `base` its values were copied from (what a recipe records)
    base = None
    with torch.no_grad():
        # Classifier: a wider spread than the default init, so top-5 gaps are far above float rounding.
        model.fc.weight.normal_(0, 0.05, generator=g)
        model.fc.bias.normal_(0, 0.5, generator=g)
        if args.compact:
            # Every convolution and the classifier become float16, their values read through overlapping strided
            # views of one small random storage (how the torch-parity checkpoint's values were first made), then
            # copied out in full: the checkpoint holds each tensor in its own storage, as a saved state_dict does (a
            # checkpoint of the overlapping views themselves is refused by the reader). The storage and the views'
            # offsets and strides are what --recipe records, so that the 21 MB checkpoint is not committed.
            base = (torch.randn(1 << 17, generator=g) * 0.05).half()
            for key, t in model.state_dict().items():
                if t.dim() >= 2:
                    view = fixtures.strided_view(base, list(t.shape), int(torch.randint(0, 1 << 30, (1,), generator=g)), g)
                    views_of[key] = view
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
    state = type(state)((k, views.get(k, t)) for k, t in state.items())
    torch.save(state, args.output)
    if args.recipe:
        if not args.compact:
            sys.exit("--recipe needs --compact (only its weights are strided views of one small storage)")
        json_path = write_recipe(args.recipe, state, {k: (v.storage_offset(), list(v.stride())) for k, v in views_of.items()}, base)
        require_same(state, expand_recipe(json_path), json_path)
    print(json.dumps({"checkpoint": args.output, "variant": args.variant, "seed": args.seed, "sha256": fixtures.sha256(args.output)}))


RECIPE_FORMAT = "resnest-checkpoint-recipe/1"
DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64, "int64": torch.int64}


def write_recipe(prefix, state, views, base):
    """Writes PREFIX.recipe.json and PREFIX.recipe.bin and returns the .json path.

    The .bin holds, little-endian and back to back: the float16 base storage (its `elements` values from byte 0), then
    every tensor that is not a view of it, contiguous, in state_dict order. The .json holds the format name, the .bin's
    file name and SHA-256, the base (dtype, elements) and one object per tensor, in state_dict order:
      {"key", "dtype", "shape", "view": {"offset", "strides"}}  values = base.as_strided(shape, strides, offset),
                                                                  copied out contiguous into a storage of its own
      {"key", "dtype", "shape", "bytes": [start, length]}       values = the .bin's bytes [start, start + length)
    dtype is one of DTYPES' names; a view's dtype is the base's. tests/ResNeSt.TestSupport/ParityCheckpoint.cs
    expands the same format into a .pth for the C# tests.
    """
    if sys.byteorder != "little":
        sys.exit("recipes are little-endian; write them on a little-endian machine")
    names = {v: k for k, v in DTYPES.items()}
    blob = bytearray(base.contiguous().numpy().tobytes())
    tensors = []
    for key, t in state.items():
        entry = {"key": key, "dtype": names[t.dtype], "shape": list(t.shape)}
        if key in views:
            offset, strides = views[key]
            entry["view"] = {"offset": offset, "strides": strides}
        else:
            data = t.contiguous().numpy().tobytes()
            entry["bytes"] = [len(blob), len(data)]
            blob += data
        tensors.append(entry)
    bin_path, json_path = prefix + ".recipe.bin", prefix + ".recipe.json"
    with open(bin_path, "wb") as f:
        f.write(blob)
    header = {"format": RECIPE_FORMAT, "blob": os.path.basename(bin_path), "blobSha256": fixtures.sha256(bin_path),
              "base": {"dtype": names[base.dtype], "elements": base.numel()}}
    # One tensor a line, so that a regenerated recipe diffs readably.
    lines = ",\n".join("    " + json.dumps(t) for t in tensors)
    with open(json_path, "w") as f:
        f.write(json.dumps(header, indent=2)[:-2] + ',\n  "tensors": [\n' + lines + "\n  ]\n}\n")
    return json_path


def expand_recipe(json_path):
    """The state_dict a recipe describes: each tensor in its own storage, as torch.save(model.state_dict()) holds it."""
    with open(json_path) as f:
        recipe = json.load(f)
    if recipe["format"] != RECIPE_FORMAT:
        sys.exit(f"{json_path}: format {recipe['format']!r}, expected {RECIPE_FORMAT!r}")
    bin_path = os.path.join(os.path.dirname(json_path), recipe["blob"])
    if fixtures.sha256(bin_path) != recipe["blobSha256"]:
        sys.exit(f"{bin_path} is not the blob {json_path} was written with (SHA-256 differs)")
    with open(bin_path, "rb") as f:
        blob = bytearray(f.read())
    base_dtype = DTYPES[recipe["base"]["dtype"]]
    base = torch.frombuffer(blob, dtype=base_dtype, count=recipe["base"]["elements"])
    state = collections.OrderedDict()
    for t in recipe["tensors"]:
        dtype = DTYPES[t["dtype"]]
        if "view" in t:
            assert dtype == base_dtype, t["key"]
            view = base.as_strided(t["shape"], t["view"]["strides"], t["view"]["offset"])
            state[t["key"]] = view.clone(memory_format=torch.contiguous_format)
        else:
            start, length = t["bytes"]
            dense = torch.frombuffer(blob[start:start + length], dtype=dtype) if length else torch.empty(0, dtype=dtype)
            state[t["key"]] = dense.reshape(t["shape"]).clone()
    return state


def require_same(expected, actual, what):
    if list(expected) != list(actual):
        sys.exit(f"{what}: keys differ")
    for key, t in expected.items():
        a = actual[key]
        if a.dtype != t.dtype or a.shape != t.shape or not torch.equal(a, t):
            sys.exit(f"{what}: {key} differs ({a.dtype} {list(a.shape)} vs {t.dtype} {list(t.shape)})")


def cmd_expand(args):
    state = expand_recipe(args.recipe)
    torch.save(state, args.output)
    if args.same_as:
        other = torch.load(args.same_as, map_location="cpu")
        require_same(other.get("state_dict", other), state, f"{args.same_as} vs {args.recipe}")
    print(json.dumps({"recipe": args.recipe, "checkpoint": args.output, "tensors": len(state),
                      "sameAs": args.same_as, "sha256": fixtures.sha256(args.output)}))


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
    p.add_argument("--recipe", help="with --compact: also write PREFIX.recipe.json + PREFIX.recipe.bin")
    p = sub.add_parser("expand")
    p.add_argument("--recipe", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--same-as", help="a checkpoint every tensor of which must equal the recipe's")
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
    {"checkpoint": cmd_checkpoint, "expand": cmd_expand, "classify": cmd_classify, "bench": cmd_bench, "export": cmd_export}[args.command](args)


if __name__ == "__main__":
    main()
