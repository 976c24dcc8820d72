#!/usr/bin/python3
"""Reference tensors for the preprocessing parity tests (run with Debian's /usr/bin/python3: PIL 9.4, torchvision 0.14).

Writes tests/ResNeSt.Inference.Tests/fixtures/:
  images/     small generated inputs (grey, RGBA, palette, CMYK, progressive, 4:2:0, 4:4:4, 1x1, very wide, EXIF 1-8, ...)
  refs/       for every case, the S x S RGB uint8 image torchvision's pipeline holds just before ToTensor, as PNG
  manifest.json  the cases: input, recipe, crop, resize, whether EXIF orientation is applied, reference file

The committed references are the pre-normalisation 8-bit values; the script checks that torchvision's float tensor is
exactly (u8 / 255 - mean) / std of them in float32, so comparing u8 values loses nothing.
"""
import io
import json
import os
import sys

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageEnhance, ImageOps

from eval_recipes import geometric

torch.set_num_threads(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "ResNeSt.Inference.Tests", "fixtures")
IMAGES = os.path.join(FIXTURES, "images")
REFS = os.path.join(FIXTURES, "refs")
SAMPLES = os.path.join(ROOT, "samples", "images")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def reference(path, recipe, crop, resize, exif):
    img = Image.open(path)
    if exif:
        img = ImageOps.exif_transpose(img)
    img = img.convert("RGB")
    out = geometric(recipe, crop, resize)(img)
    u8 = np.asarray(out, dtype=np.uint8)
    assert u8.shape == (crop, crop, 3), u8.shape
    # The full torchvision pipeline must be exactly the normalised u8 values.
    tensor = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])(out).numpy()
    mine = (u8.transpose(2, 0, 1).astype(np.float32) / np.float32(255) - np.array(MEAN, np.float32)[:, None, None]) \
        / np.array(STD, np.float32)[:, None, None]
    assert np.array_equal(tensor, mine), f"normalisation mismatch for {path}: {np.abs(tensor - mine).max()}"
    return u8


def save(img, name, **kwargs):
    path = os.path.join(IMAGES, name)
    img.save(path, **kwargs)
    return path


def generate():
    os.makedirs(IMAGES, exist_ok=True)
    coffee = Image.open(os.path.join(SAMPLES, "coffee.png")).convert("RGB")  # 600 x 400, natural texture
    dog = Image.open(os.path.join(SAMPLES, "dog.jpg")).convert("RGB")
    photo = dog.resize((500, 393), Image.Resampling.LANCZOS).crop((0, 9, 500, 384))  # 500 x 375
    cases = []

    def add(path, name, exif=False, recipes=("hub", "paper"), crop=224, resize=None):
        for recipe in recipes:
            cases.append(dict(name=name, input=os.path.relpath(path, ROOT).replace(os.sep, "/"), recipe=recipe,
                              crop=crop, resize=resize or int(crop / 0.875), exif=exif))

    for sample in ("dog.jpg", "rocket.jpg", "coffee.png", "camera.png"):
        add(os.path.join(SAMPLES, sample), sample)

    # An odd crop (vector tails) and a hub resize smaller than the crop (torchvision pads with zeros).
    add(os.path.join(SAMPLES, "coffee.png"), "coffee.png", crop=99)
    add(os.path.join(SAMPLES, "coffee.png"), "coffee.png", recipes=("hub",), crop=112, resize=100)

    add(save(photo, "photo-420.jpg", quality=90, subsampling=2), "photo-420.jpg")
    add(save(photo, "photo-444.jpg", quality=90, subsampling=0), "photo-444.jpg")
    add(save(photo, "photo-progressive-420.jpg", quality=90, subsampling=2, progressive=True), "photo-progressive-420.jpg")
    add(save(photo, "photo-422.jpg", quality=90, subsampling=1), "photo-422.jpg", crop=112)
    add(save(coffee.crop((3, 5, 304, 176)), "odd-420-301x171.jpg", quality=88, subsampling=2), "odd-420-301x171.jpg", crop=112)
    vivid = ImageEnhance.Contrast(ImageEnhance.Color(coffee.crop((100, 100, 420, 340))).enhance(4.0)).enhance(1.8)
    add(save(vivid, "saturated-420.jpg", quality=85, subsampling=2), "saturated-420.jpg", crop=112)
    add(save(coffee.crop((0, 0, 299, 173)), "odd-299x173.jpg", quality=92, subsampling=0), "odd-299x173.jpg", crop=112)
    add(save(coffee.crop((50, 20, 383, 271)).convert("L"), "grey-333x251.png"), "grey-333x251.png")
    add(save(coffee.crop((10, 10, 330, 250)).convert("L"), "grey-320x240.jpg", quality=90), "grey-320x240.jpg", crop=112)

    rgba = coffee.crop((100, 50, 301, 207)).convert("RGBA")
    alpha = np.linspace(0, 255, rgba.size[0] * rgba.size[1]).reshape(rgba.size[1], rgba.size[0]).astype(np.uint8)
    rgba.putalpha(Image.fromarray(alpha))
    add(save(rgba, "rgba-201x157.png"), "rgba-201x157.png")
    add(save(coffee.crop((0, 0, 320, 240)).convert("CMYK"), "cmyk-320x240.jpg", quality=92), "cmyk-320x240.jpg", crop=112)
    add(save(coffee.crop((40, 40, 297, 231)).quantize(64), "palette-257x191.png"), "palette-257x191.png", crop=112)
    add(save(coffee.crop((40, 40, 297, 231)).quantize(128), "first-frame-257x191.gif"), "first-frame-257x191.gif", crop=112)
    add(save(coffee.crop((7, 3, 128, 100)), "rgb-121x97.bmp"), "rgb-121x97.bmp", crop=112)
    add(save(coffee.crop((7, 3, 230, 180)), "lossless-223x177.webp", lossless=True), "lossless-223x177.webp", crop=112)
    add(save(coffee.crop((7, 3, 230, 180)), "lossy-223x177.webp", quality=80), "lossy-223x177.webp", crop=112)
    add(save(Image.new("RGB", (1, 1), (200, 30, 90)), "one-pixel.png"), "one-pixel.png", crop=112)
    add(save(coffee.resize((2000, 50), Image.Resampling.BILINEAR), "wide-2000x50.png"), "wide-2000x50.png", crop=112)
    add(save(coffee.crop((0, 0, 37, 400)), "tall-37x400.png"), "tall-37x400.png", crop=112)

    # EXIF orientations 1-8 on an asymmetric picture; references with exif_transpose (our default) at a small crop,
    # and orientation 6 once more without it (PIL's own behaviour).
    base = coffee.crop((60, 30, 156, 102))  # 96 x 72, asymmetric content
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[274] = orientation
        path = save(base, f"exif-{orientation}.jpg", quality=95, subsampling=0, exif=exif.tobytes())
        add(path, f"exif-{orientation}.jpg", exif=True, crop=64)
    add(os.path.join(IMAGES, "exif-6.jpg"), "exif-6.jpg", exif=False, crop=64)
    return cases


def main():
    cases = generate()
    os.makedirs(REFS, exist_ok=True)
    for case in cases:
        u8 = reference(os.path.join(ROOT, case["input"]), case["recipe"], case["crop"], case["resize"], case["exif"])
        ref = f"{case['name']}.{case['recipe']}{case['crop']}-{case['resize']}{'' if case['exif'] else '.noexif'}.png"
        Image.fromarray(u8).save(os.path.join(REFS, ref), optimize=True)
        case["reference"] = "refs/" + ref
    with open(os.path.join(FIXTURES, "manifest.json"), "w") as f:
        json.dump({"mean": MEAN, "std": STD, "cases": cases}, f, indent=1)
    total = sum(os.path.getsize(os.path.join(d, n)) for d in (IMAGES, REFS) for n in os.listdir(d))
    print(f"{len(cases)} cases, fixtures {total / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
