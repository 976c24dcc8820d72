#!/usr/bin/python3
"""Writes tests/ResNeSt.Cli.Tests/fixtures/torch-export/: ONNX files exported by PyTorch's own torch.onnx.export, as a
user who brings their own model would make them, for the tests of `resnest annotate`.

The network is a tiny ResNeSt-shaped classifier (stem convolution, one split-attention bottleneck with radix 2 and a
residual, global average pooling, a 1000-way linear layer) with seeded weights: a full ResNeSt is ~100 MB, too large to
commit, and what `annotate` deals with is how PyTorch exports (input and output names, fixed or symbolic batch,
no metadata, the ops torch emits for split attention), not the depth of the network.

  tiny-resnest-b1.onnx        torch.onnx.export defaults: batch fixed at 1, names chosen by torch, no dynamic axes
  tiny-resnest-dynamic.onnx   input_names=["images"], output_names=["scores"], dynamic batch axis
  reference.jsonl             PyTorch's classification of samples/images/dog.jpg and coffee.png through the torch.hub
                              preprocessing (PIL, Resize(73), CenterCrop(64), Normalize): top-5 and raw logits

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision); CI only reads the committed files.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
CROP = 64
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class SplitAttention(nn.Module):
    """ResNeSt's split-attention convolution (radix 2, cardinality 1), as in the official SplAtConv2d."""

    def __init__(self, channels, radix=2, reduction=4):
        super().__init__()
        self.radix = radix
        self.conv = nn.Conv2d(channels, channels * radix, 3, padding=1, groups=radix, bias=False)
        self.bn0 = nn.BatchNorm2d(channels * radix)
        inter = max(channels * radix // reduction, 8)
        self.fc1 = nn.Conv2d(channels, inter, 1)
        self.bn1 = nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, channels * radix, 1)

    def forward(self, x):
        x = F.relu(self.bn0(self.conv(x)))
        batch, rchannel = x.shape[:2]
        splits = torch.split(x, rchannel // self.radix, dim=1)
        gap = F.adaptive_avg_pool2d(sum(splits), 1)
        atten = self.fc2(F.relu(self.bn1(self.fc1(gap))))
        atten = atten.view(batch, 1, self.radix, -1).transpose(1, 2)
        atten = F.softmax(atten, dim=1).reshape(batch, -1, 1, 1)
        attens = torch.split(atten, rchannel // self.radix, dim=1)
        return sum(a * s for a, s in zip(attens, splits))


class TinyResNeSt(nn.Module):
    def __init__(self, width=16, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.attention = SplitAttention(width)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = F.relu(self.bn(self.attention(x)) + x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def main():
    out = os.path.join(ROOT, "tests", "ResNeSt.Cli.Tests", "fixtures", "torch-export")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    torch.set_num_threads(2)
    model = TinyResNeSt()
    transform = T.Compose([T.Resize(int(CROP / 0.875)), T.CenterCrop(CROP), T.ToTensor(), T.Normalize(MEAN, STD)])
    names = ["dog.jpg", "coffee.png"]
    images = []
    for name in names:
        with Image.open(os.path.join(ROOT, "samples", "images", name)) as img:
            images.append(transform(img.convert("RGB")))
    batch = torch.stack(images)
    with torch.no_grad():
        # Seeded weights with BatchNorm statistics from the samples, and a wide classifier, so the logits are spread
        # (the top-5 gaps stay far above float rounding and preprocessing differences).
        model.fc.weight.normal_(0, 1.0)
        model.fc.bias.normal_(0, 0.5)
        model.train()
        model(torch.cat([batch, torch.randn(6, 3, CROP, CROP)]))
        model.eval()
        logits = model(batch)

    torch.onnx.export(model, torch.randn(1, 3, CROP, CROP), os.path.join(out, "tiny-resnest-b1.onnx"))
    torch.onnx.export(
        model, torch.randn(1, 3, CROP, CROP), os.path.join(out, "tiny-resnest-dynamic.onnx"),
        input_names=["images"], output_names=["scores"], dynamic_axes={"images": {0: "batch"}, "scores": {0: "batch"}})

    with open(os.path.join(out, "reference.jsonl"), "w") as f:
        for name, row in zip(names, logits):
            probabilities = F.softmax(row.double(), dim=0)
            top = torch.topk(probabilities, 5)
            f.write(json.dumps({
                "file": name,
                "predictions": [{"index": int(i), "probability": float(p)} for p, i in zip(top.values, top.indices)],
                "logits": [float(v) for v in row],
            }) + "\n")
    import torchvision
    with open(os.path.join(out, "VERSIONS"), "w") as f:
        f.write(f"torch {torch.__version__}, torchvision {torchvision.__version__}\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
