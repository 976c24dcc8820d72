#!/usr/bin/python3
"""Regenerates the PyTorch checkpoint fixtures of tests/ResNeSt.Models.Tests/fixtures/.

Run with Debian's PyTorch (python3-torch 1.13):  /usr/bin/python3 tools/make-checkpoint-fixtures.py

The ResNeSt module below is written from docs in /work/shared/resnest/ARCHITECTURE.md (not copied from the
official repository); its state_dict names and shapes must equal the C# StateDictSpec, which a test checks
against the listing this script writes (official-state-dict-keys.txt).

Outputs (all small; CI has no PyTorch, so they are committed):
  official-state-dict-keys.txt   key, shape, kind for resnest50/101/200/269 as this module defines them
  reader-features.zip.pth /.legacy.pth /.protocol4.pth + reader-features.json
                                 a handful of tensors exercising dtypes, offsets, strides, shared storage
  reduced.zip.pth / reduced.legacy.pth
                                 a reduced ResNeSt ([2,1,1,1], stem 16, stage planes 8/16/32/64, crop 64) with random
                                 weights and random, non-trivial BatchNorm statistics

Every checkpoint holds what torch.save(model.state_dict()) holds: tensors of their own storage, or views of one
shared storage at disjoint offsets (a flat parameter buffer). No stride 0 (expand) and no overlapping views: the
reader refuses those, as a state_dict never has them.
  reduced-input.bin              float32 little-endian [2,3,64,64]
  reduced-logits.bin             float64 little-endian [2,1000]: the module's logits for that input
  reduced.json                   the manifest the C# tests read
"""
import collections
import hashlib
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ResNeSt.Models.Tests", "fixtures")

RADIX = 2
CARDINALITY = 1
BOTTLENECK_WIDTH = 64
EXPANSION = 4


class RadixSoftmax(nn.Module):
    def __init__(self, radix, cardinality):
        super().__init__()
        self.radix = radix
        self.cardinality = cardinality

    def forward(self, x):
        batch = x.size(0)
        # (batch, k, r, C) -> (batch, r, k, C): softmax runs across the radix splits of each channel.
        x = x.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
        return F.softmax(x, dim=1).reshape(batch, -1)


class SplitAttentionConv(nn.Module):
    def __init__(self, channels):
        super().__init__()
        inter = max(channels * RADIX // 4, 32)
        self.channels = channels
        self.conv = nn.Conv2d(channels, channels * RADIX, 3, 1, 1, groups=CARDINALITY * RADIX, bias=False)
        self.bn0 = nn.BatchNorm2d(channels * RADIX)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(channels, inter, 1, groups=CARDINALITY)
        self.bn1 = nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, channels * RADIX, 1, groups=CARDINALITY)
        self.rsoftmax = RadixSoftmax(RADIX, CARDINALITY)

    def forward(self, x):
        x = self.relu(self.bn0(self.conv(x)))
        splits = torch.split(x, self.channels, dim=1)
        gap = sum(splits)
        gap = F.adaptive_avg_pool2d(gap, 1)
        gap = self.relu(self.bn1(self.fc1(gap)))
        attention = self.rsoftmax(self.fc2(gap)).view(x.size(0), -1, 1, 1)
        attentions = torch.split(attention, self.channels, dim=1)
        return sum(a * s for a, s in zip(attentions, splits))


class Bottleneck(nn.Module):
    def __init__(self, in_channels, planes, stride, downsample):
        super().__init__()
        width = planes * BOTTLENECK_WIDTH // 64 * CARDINALITY
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = SplitAttentionConv(width)
        # avd: the stride moves out of the 3x3 conv into an average pool after it.
        self.avd_layer = nn.AvgPool2d(3, stride, padding=1) if stride > 1 else None
        self.conv3 = nn.Conv2d(width, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.conv2(out)
        if self.avd_layer is not None:
            out = self.avd_layer(out)
        out = self.bn3(self.conv3(out))
        residual = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + residual)


class ResNeSt(nn.Module):
    def __init__(self, blocks, stem_width, planes=(64, 128, 256, 512)):
        super().__init__()
        w = stem_width
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(2 * w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = 2 * w
        for stage, (planes, stride, count) in enumerate(zip(planes, [1, 2, 2, 2], blocks)):
            layers = []
            for i in range(count):
                downsample = None
                if i == 0:
                    downsample = nn.Sequential(
                        nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                        nn.Conv2d(in_channels, planes * EXPANSION, 1, bias=False),
                        nn.BatchNorm2d(planes * EXPANSION))
                layers.append(Bottleneck(in_channels, planes, stride if i == 0 else 1, downsample))
                in_channels = planes * EXPANSION
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, 1000)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


OFFICIAL = {
    "resnest50": ([3, 4, 6, 3], 32),
    "resnest101": ([3, 4, 23, 3], 64),
    "resnest200": ([3, 24, 36, 3], 64),
    "resnest269": ([3, 30, 48, 8], 64),
}

REDUCED_BLOCKS = [2, 1, 1, 1]
REDUCED_STEM = 16
REDUCED_CROP = 64
# Narrow stages keep the checkpoint under 1 MB with every tensor stored in full (the official planes need 21 MB).
REDUCED_PLANES = [8, 16, 32, 64]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_both(obj, stem):
    zip_path = os.path.join(OUT, stem + ".zip.pth")
    legacy_path = os.path.join(OUT, stem + ".legacy.pth")
    torch.save(obj, zip_path)
    torch.save(obj, legacy_path, _use_new_zipfile_serialization=False)
    return zip_path, legacy_path


def write_official_listing():
    lines = ["# key<TAB>shape (comma-separated)<TAB>kind, per official variant; written by tools/make-checkpoint-fixtures.py"]
    for name, (blocks, stem) in OFFICIAL.items():
        model = ResNeSt(blocks, stem)
        params = {k for k, _ in model.named_parameters()}
        total = sum(p.numel() for p in model.parameters())
        sd = model.state_dict()
        lines.append(f"variant\t{name}\t{len(sd)}\t{total}")
        for key, t in sd.items():
            kind = "parameter" if key in params else ("counter" if key.endswith("num_batches_tracked") else "statistic")
            lines.append(f"{key}\t{','.join(str(d) for d in t.shape)}\t{kind}")
        print(f"{name}: {len(sd)} entries, {total:,} parameters", file=sys.stderr)
        del model, sd
    with open(os.path.join(OUT, "official-state-dict-keys.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def write_reader_features():
    """Tensors that exercise every storage feature the reader must handle; values are exactly representable."""
    g = torch.Generator().manual_seed(7)
    flat = (torch.randint(-512, 512, (24,), generator=g).float() / 8)  # a flat buffer holding three tensors
    matrix = torch.arange(12, dtype=torch.float32).view(3, 4) / 4 - 1
    features = collections.OrderedDict()
    features["contiguous_f32"] = torch.tensor([[1.5, -2.25, 3.0], [0.125, 1e-3, -7.0]], dtype=torch.float32)
    features["half"] = torch.tensor([0.5, -1.25, 65504.0, 6.103515625e-05], dtype=torch.float16)
    features["double"] = torch.tensor([[1.0 / 3.0, -2.5], [1e10, 0.0]], dtype=torch.float64)
    features["long_vector"] = torch.tensor([3, -4, 1 << 40], dtype=torch.int64)
    features["long_scalar"] = torch.tensor(12345, dtype=torch.int64)
    features["float_scalar"] = torch.tensor(-0.75)
    features["transposed"] = matrix.t()                      # shape [4,3], strides (1,4)
    features["flat_head"] = flat[:4]                          # flat's storage, elements 0-3
    features["offset_view"] = flat[5:11].view(2, 3)           # the same storage at offset 5
    features["every_other"] = flat[12::2]                     # stride 2, offset 12
    features["unit_dim"] = flat[23:].view(1, 1)               # size-1 dimensions, whatever their strides
    features["empty"] = torch.zeros(0, 3)
    features["half_strided"] = torch.arange(20, dtype=torch.float16).view(4, 5)[1:, ::2]
    zip_path, legacy_path = save_both(features, "reader-features")
    # Protocol 4 names globals with STACK_GLOBAL and memoised strings rather than GLOBAL: the reader must resolve them.
    torch.save(features, os.path.join(OUT, "reader-features.protocol4.pth"), pickle_protocol=4)
    expected = collections.OrderedDict()
    for key, t in features.items():
        expected[key] = {"shape": list(t.shape), "values": [float(v) for v in t.double().flatten().tolist()]}
    with open(os.path.join(OUT, "reader-features.json"), "w", encoding="utf-8") as f:
        json.dump({"tensors": expected, "zipSha256": sha256(zip_path), "legacySha256": sha256(legacy_path)}, f, indent=1)
    # A checkpoint saved as {'state_dict': ...} (a training script's habit) must be accepted too.
    torch.save({"state_dict": collections.OrderedDict([("w", torch.tensor([1.0, 2.0]))]), "epoch": 3},
               os.path.join(OUT, "wrapped.zip.pth"))


def strided_view(base, shape, offset, g):
    """A view of `base` with the given shape and overlapping, prime-valued strides. Only tools/torch-pipeline.py
    --compact uses it, to reproduce the values of the torch-parity checkpoint, whose tensors it then copies out in
    full (a checkpoint of such views is refused by the reader: a state_dict never holds them); the base, offsets and
    strides are what that checkpoint's committed recipe records."""
    primes = [1, 3, 7, 13, 29, 61, 127, 251]
    for _ in range(10000):
        picks = torch.randperm(len(primes), generator=g).tolist()
        strides = [primes[picks[axis]] for axis in range(len(shape))]
        extent = sum((s - 1) * st for s, st in zip(shape, strides)) + 1
        if extent <= base.numel():
            break
    else:
        raise ValueError(f"no strides fit {shape}")
    offset = offset % (base.numel() - extent + 1)
    return base.as_strided(shape, strides, offset)


def write_reduced():
    g = torch.Generator().manual_seed(2020)
    torch.manual_seed(2020)
    model = ResNeSt(REDUCED_BLOCKS, REDUCED_STEM, REDUCED_PLANES)
    sd = model.state_dict()

    # Weights of convolutions and the classifier: float16, laid out one after another in one flat storage (as a flat
    # parameter buffer is), each a contiguous view at its own offset. Random gaps between them, so a reader that
    # ignores offsets gets other numbers.
    shapes = [(key, t.shape) for key, t in sd.items() if t.dim() >= 2]
    gaps = [int(v) for v in torch.randint(0, 7, (len(shapes),), generator=g)]
    flat = (torch.randn(sum(t.numel() for _, t in sd.items() if t.dim() >= 2) + sum(gaps), generator=g) * 0.05).half()
    checkpoint = collections.OrderedDict()
    offset = 0
    with torch.no_grad():
        for (key, shape), gap in zip(shapes, gaps):
            offset += gap
            count = 1
            for d in shape:
                count *= d
            view = flat[offset:offset + count].view(shape)
            offset += count
            if key == "fc.weight":
                # The narrow network has 256 features where the official one has 2048: a wider spread keeps its
                # logits as spread out (range over 20) as a trained network's.
                view.mul_(6)
            checkpoint[key] = view
            sd[key].copy_(view.float())
        # fc1/fc2 and fc biases.
        for key, t in sd.items():
            if key.endswith(".bias") and key.replace(".bias", ".running_mean") not in sd:
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)

    # BatchNorm: random affine parameters, then statistics measured layer by layer (in forward order, eval mode) on
    # random images and perturbed a little. Activations therefore stay in range through the network while every
    # BatchNorm still has its own non-trivial mean, variance, scale and shift, so folding is really exercised.
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    order = []
    hooks = [m.register_forward_pre_hook(lambda mod, inp: order.append(mod)) for m in norms]
    calibration = torch.randn(16, 3, REDUCED_CROP, REDUCED_CROP, generator=g)
    with torch.no_grad():
        for m in norms:
            c = m.num_features
            m.weight.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.copy_(torch.randn(c, generator=g) * 0.2)
            m.num_batches_tracked.fill_(int(torch.randint(1, 100000, (1,), generator=g)))
        model(calibration)
        for h in hooks:
            h.remove()
        for m in order:
            seen = []
            hook = m.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0]))
            model(calibration)
            hook.remove()
            x = seen[0].transpose(0, 1).reshape(m.num_features, -1)
            mean, var = x.mean(dim=1), x.var(dim=1) + 1e-3
            m.running_mean.copy_(mean + torch.randn(mean.shape, generator=g) * 0.1 * var.sqrt())
            m.running_var.copy_(var * (torch.rand(var.shape, generator=g) * 0.45 + 0.8))

    for key, t in model.state_dict().items():
        if key in checkpoint:
            continue
        if key.endswith("running_var"):
            checkpoint[key] = t.double().clone()       # a float64 storage per tensor
        else:
            checkpoint[key] = t.clone()
    # Keep the official key order.
    checkpoint = collections.OrderedDict((k, checkpoint[k]) for k in sd.keys())

    zip_path, legacy_path = save_both(checkpoint, "reduced")

    x = torch.randn(2, 3, REDUCED_CROP, REDUCED_CROP, generator=g)
    with torch.no_grad():
        logits32 = model(x)
        logits64 = model.double()(x.double())
    print(f"reduced logits: std {logits64.std():.3f}, max |fp32 - fp64| {(logits32.double() - logits64).abs().max():.2e}",
          file=sys.stderr)
    x.numpy().astype("<f4").tofile(os.path.join(OUT, "reduced-input.bin"))
    logits64.numpy().astype("<f8").tofile(os.path.join(OUT, "reduced-logits.bin"))
    manifest = {
        "blocksPerStage": REDUCED_BLOCKS,
        "stemWidth": REDUCED_STEM,
        "stagePlanes": REDUCED_PLANES,
        "cropSize": REDUCED_CROP,
        "batch": 2,
        "input": "reduced-input.bin",
        "logits": "reduced-logits.bin",
        "zipCheckpoint": "reduced.zip.pth",
        "legacyCheckpoint": "reduced.legacy.pth",
        "zipSha256": sha256(zip_path),
        "legacySha256": sha256(legacy_path),
        "torchVersion": torch.__version__,
    }
    with open(os.path.join(OUT, "reduced.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_reader_features()
    write_reduced()
    if "--skip-listing" not in sys.argv:
        write_official_listing()


if __name__ == "__main__":
    main()
