#!/usr/bin/python3
"""Reference logits for the ONNX graph builder, computed with PyTorch (Debian's python3-torch).

The network is written here from shared/resnest/ARCHITECTURE.md with torch.nn.functional ops, independently of
the C# graph builder. Its weights are the C# RandomWeights for a seed, reproduced bit for bit (same SplitMix64
streams, Box-Muller, zero-mean filters and BatchNorm plan), so the fixture holds only a seed and the logits
and CI needs no PyTorch. Regenerate after changing RandomWeights:

    /usr/bin/python3 tools/make_graph_fixture.py > tests/ResNeSt.Models.Tests/fixtures/graph-reference.json
"""
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(2)

PLANES = [64, 128, 256, 512]
STRIDES = [1, 2, 2, 2]
RADIX = 2
EPS = 1e-5
MASK = (1 << 64) - 1
RELU_VARIANCE = 0.5 - 1 / (2 * math.pi)
TARGET_LOGIT_SPREAD = 3.0

CASES = [
    # (blocks per stage, stem width, crop, seed, batch)
    ([2, 2, 2, 1], 8, 66, 21, 2),
    ([1, 2, 1, 2], 16, 64, 22, 2),
]


def spec(blocks, w):
    entries = []

    def conv(k, o, i, ks):
        entries.append((k + ".weight", [o, i, ks, ks]))

    def bn(k, c):
        for f in ("weight", "bias", "running_mean", "running_var"):
            entries.append((f"{k}.{f}", [c]))
        entries.append((k + ".num_batches_tracked", []))

    conv("conv1.0", w, 3, 3); bn("conv1.1", w)
    conv("conv1.3", w, w, 3); bn("conv1.4", w)
    conv("conv1.6", 2 * w, w, 3); bn("bn1", 2 * w)
    inc = 2 * w
    for s in range(4):
        gw, out = PLANES[s], PLANES[s] * 4
        inter = max(gw * RADIX // 4, 32)
        for b in range(blocks[s]):
            p = f"layer{s + 1}.{b}"
            conv(p + ".conv1", gw, inc, 1); bn(p + ".bn1", gw)
            conv(p + ".conv2.conv", gw * RADIX, gw // RADIX, 3); bn(p + ".conv2.bn0", gw * RADIX)
            conv(p + ".conv2.fc1", inter, gw, 1); entries.append((p + ".conv2.fc1.bias", [inter])); bn(p + ".conv2.bn1", inter)
            conv(p + ".conv2.fc2", gw * RADIX, inter, 1); entries.append((p + ".conv2.fc2.bias", [gw * RADIX]))
            conv(p + ".conv3", out, gw, 1); bn(p + ".bn3", out)
            if b == 0:
                conv(p + ".downsample.1", out, inc, 1); bn(p + ".downsample.2", out)
            inc = out
    entries.append(("fc.weight", [1000, inc]))
    entries.append(("fc.bias", [1000]))
    return entries


def plan(blocks):
    bns = {"conv1.1": (1, 2), "conv1.4": (1, 2 * RELU_VARIANCE), "bn1": (1, 2 * RELU_VARIANCE)}
    stream = RELU_VARIANCE
    for s in range(4):
        g = 1 / math.sqrt(blocks[s])
        strided = STRIDES[s] > 1
        for b in range(blocks[s]):
            p = f"layer{s + 1}.{b}"
            bns[p + ".bn1"] = (1, 2 * stream)
            bns[p + ".conv2.bn0"] = (1, 2 * RELU_VARIANCE)
            bns[p + ".conv2.bn1"] = (1, 1)
            attended = RELU_VARIANCE / 2 * (0.5 if b == 0 and strided else 1)
            bns[p + ".bn3"] = (g, 2 * attended)
            if b == 0:
                bns[p + ".downsample.2"] = (1, 2 * stream * (0.5 if strided else 1))
                stream = RELU_VARIANCE * (1 + g * g)
            else:
                stream += g * g / 2
    return bns, TARGET_LOGIT_SPREAD / math.sqrt(2048 * stream)


def uniforms(seed, key, count):
    h = 14695981039346656037 ^ (seed & 0xFFFFFFFF)
    for c in key:
        h = ((h ^ ord(c)) * 1099511628211) & MASK
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(h) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(seed, key, n, std):
    pairs = (n + 1) // 2
    u = uniforms(seed, key, 2 * pairs)
    u1, u2 = 1.0 - u[0::2], u[1::2]
    radius = std * np.sqrt(-2.0 * np.log(u1))
    out = np.empty(2 * pairs, dtype=np.float32)
    out[0::2] = (radius * np.cos(2.0 * np.pi * u2)).astype(np.float32)
    out[1::2] = (radius * np.sin(2.0 * np.pi * u2)).astype(np.float32)
    return out[:n]


def uniform(seed, key, n, low, high):
    return (low + (high - low) * uniforms(seed, key, n)).astype(np.float32)


def center_rows(data, row):
    rows = data.reshape(-1, row)
    means = (rows.astype(np.float64).sum(axis=1) / row).astype(np.float32)
    return (rows - means[:, None]).astype(np.float32).reshape(-1)


def random_weights(blocks, w, seed):
    bns, classifier_std = plan(blocks)
    sd = {}
    for key, shape in spec(blocks, w):
        n = int(np.prod(shape)) if shape else 1
        module, field = key.rsplit(".", 1)
        if module in bns:
            gs, var = bns[module]
            data = {
                "weight": lambda: uniform(seed, key, n, 0.8 * gs, 1.2 * gs),
                "bias": lambda: normal(seed, key, n, 0.05 * gs),
                "running_mean": lambda: normal(seed, key, n, 0.05 * math.sqrt(var)),
                "running_var": lambda: uniform(seed, key, n, 0.8 * var, 1.25 * var),
            }.get(field, lambda: np.zeros(n, dtype=np.float32))()
        elif key == "fc.weight":
            data = center_rows(normal(seed, key, n, classifier_std), shape[1])
        elif field == "bias":
            data = normal(seed, key, n, 0.1)
        else:
            fan_in = shape[1] * shape[2] * shape[3]
            data = normal(seed, key, n, math.sqrt(2 / fan_in))
            if key != "conv1.0.weight":
                data = center_rows(data, fan_in)
        sd[key] = torch.from_numpy(data.reshape(shape))
    return sd


def images(batch, crop):
    """The deterministic input the C# test builds the same way (float64, then float32)."""
    n, c, y, x = np.meshgrid(np.arange(batch), np.arange(3), np.arange(crop), np.arange(crop), indexing="ij")
    return (1.5 * np.sin(0.05 * (x + 1) * (c + 1) + 0.07 * y * (n + 1)) - 0.3 * np.cos(0.11 * x * y / crop + n)).astype(np.float32)


def forward(sd, blocks, x):
    def bn(t, p):
        return F.batch_norm(t, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, EPS)

    def conv(t, p, stride=1, pad=0, groups=1, bias=False):
        return F.conv2d(t, sd[p + ".weight"], sd[p + ".bias"] if bias else None, stride, pad, 1, groups)

    def split_attention(t, p, channels):
        y = F.relu(bn(conv(t, p + ".conv", 1, 1, RADIX), p + ".bn0"))
        splits = torch.split(y, channels, dim=1)
        gap = F.adaptive_avg_pool2d(sum(splits), 1)
        gap = F.relu(bn(conv(gap, p + ".fc1", bias=True), p + ".bn1"))
        att = conv(gap, p + ".fc2", bias=True)
        b = att.size(0)
        # rSoftMax: (batch, cardinality=1, radix, C) -> swap -> softmax over radix -> flatten
        att = F.softmax(att.view(b, 1, RADIX, -1).transpose(1, 2), dim=1).reshape(b, -1, 1, 1)
        return sum(a * s for a, s in zip(torch.split(att, channels, dim=1), splits))

    x = F.relu(bn(conv(x, "conv1.0", 2, 1), "conv1.1"))
    x = F.relu(bn(conv(x, "conv1.3", 1, 1), "conv1.4"))
    x = F.relu(bn(conv(x, "conv1.6", 1, 1), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for s in range(4):
        for b in range(blocks[s]):
            p = f"layer{s + 1}.{b}"
            stride = STRIDES[s] if b == 0 else 1
            out = F.relu(bn(conv(x, p + ".conv1"), p + ".bn1"))
            out = split_attention(out, p + ".conv2", PLANES[s])
            if stride > 1:
                out = F.avg_pool2d(out, 3, stride, 1, count_include_pad=True)
            out = bn(conv(out, p + ".conv3"), p + ".bn3")
            residual = x
            if b == 0:
                residual = F.avg_pool2d(residual, stride, stride, ceil_mode=True, count_include_pad=False)
                residual = bn(conv(residual, p + ".downsample.1"), p + ".downsample.2")
            x = F.relu(out + residual)
    x = F.adaptive_avg_pool2d(x, 1).flatten(1)
    return F.linear(x, sd["fc.weight"], sd["fc.bias"])


def main():
    cases = []
    for blocks, w, crop, seed, batch in CASES:
        sd = random_weights(blocks, w, seed)
        with torch.no_grad():
            logits = forward(sd, blocks, torch.from_numpy(images(batch, crop)))
        cases.append({
            "blocks": blocks, "stem_width": w, "crop": crop, "seed": seed, "batch": batch,
            "logits": [[float(f"{v:.7g}") for v in row] for row in logits.tolist()],
        })
    print(json.dumps({"generator": "tools/make_graph_fixture.py", "torch": torch.__version__, "cases": cases}))


if __name__ == "__main__":
    main()
