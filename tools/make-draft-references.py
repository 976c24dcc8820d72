#!/usr/bin/python3
"""Reference tensors for the reduced-size (`--decode fast`) JPEG path: what PIL gives with Image.draft('RGB', (R, R))
before the torchvision transforms, R being the recipe's resize side (hub) or S + 32 (paper), and what it gives
without draft (the exact path's reference), so the tests can check that the fast path is PIL's draft where the reduced
geometry is exact and nearer the full-size result than PIL's draft where it is not (sides not multiples of the scale). Run with Debian's
/usr/bin/python3 (PIL 9.4 on libjpeg-turbo 2.1.5, torchvision 0.14).

Writes tests/ResNeSt.Inference.Tests/fixtures/draft/: small JPEGs made from samples/images/dog.jpg (with noise, so
they decode like photos), refs/*.png (the S x S RGB uint8 image torchvision holds before ToTensor) and
manifest.json (input, recipe, crop, resize, exif, the draft scale PIL chose, reference).
"""
import json
import os

import numpy as np
from PIL import Image, ImageOps

from eval_recipes import geometric

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "ResNeSt.Inference.Tests", "fixtures", "draft")
SOURCE = os.path.join(ROOT, "samples", "images", "dog.jpg")


def photo(size, seed, mode="RGB"):
    rng = np.random.default_rng(seed)
    with Image.open(SOURCE) as im:
        img = im.convert("RGB").resize(size, Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32) + rng.standard_normal((size[1], size[0], 1), dtype=np.float32) * 2
    img = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "RGB")
    return img.convert(mode)


def reference(path, recipe, crop, resize, exif, draft=True):
    img = Image.open(path)
    requested = resize if recipe == "hub" else crop + 32
    full = img.size
    if draft:
        img.draft("RGB", (requested, requested))
    scale = next(s for s in (1, 2, 4, 8) if -(-full[0] // s) == img.size[0])
    if exif:
        img = ImageOps.exif_transpose(img)
    img = img.convert("RGB")
    return np.asarray(geometric(recipe, crop, resize)(img), dtype=np.uint8), scale


def main():
    os.makedirs(os.path.join(OUT, "refs"), exist_ok=True)
    exif6 = Image.Exif()
    exif6[274] = 6
    exif3 = Image.Exif()
    exif3[274] = 3
    files = [
        ("baseline-420-640x480.jpg", photo((640, 480), 1), dict(quality=75, subsampling=2)),
        ("progressive-420-640x480.jpg", photo((640, 480), 2), dict(quality=75, subsampling=2, progressive=True)),
        ("baseline-422-600x592.jpg", photo((600, 592), 3), dict(quality=75, subsampling=1)),
        ("baseline-444-640x480.jpg", photo((640, 480), 4), dict(quality=75, subsampling=0)),
        ("grey-640x480.jpg", photo((640, 480), 5, "L"), dict(quality=75)),
        ("exif6-420-640x480.jpg", photo((640, 480), 6), dict(quality=75, subsampling=2, exif=exif6.tobytes())),
        ("baseline-420-160x150.jpg", photo((160, 150), 7), dict(quality=75, subsampling=2)),
        # Sides that are not multiples of the scale: libjpeg rounds the reduced size up.
        ("wide-420-646x363.jpg", photo((646, 363), 8), dict(quality=75, subsampling=2)),
        ("exif3-420-646x363.jpg", photo((646, 363), 9), dict(quality=75, subsampling=2, exif=exif3.tobytes())),
        ("exif6-420-646x363.jpg", photo((646, 363), 10), dict(quality=75, subsampling=2, exif=exif6.tobytes())),
    ]
    cases = []
    for name, img, kwargs in files:
        path = os.path.join(OUT, name)
        img.save(path, "JPEG", **kwargs)
        recipes = [("hub", 64, 73, False), ("paper", 64, 73, False)]
        if name.startswith("exif"):
            recipes = [("hub", 64, 73, True), ("hub", 64, 73, False)]
        for recipe, crop, resize, exif in recipes:
            u8, scale = reference(path, recipe, crop, resize, exif)
            ref = f"{name}.{recipe}{crop}-{resize}{'' if exif else '.noexif'}.png"
            Image.fromarray(u8, "RGB").save(os.path.join(OUT, "refs", ref))
            full, _ = reference(path, recipe, crop, resize, exif, draft=False)
            exact = ref.replace(".png", ".full.png")
            Image.fromarray(full, "RGB").save(os.path.join(OUT, "refs", exact))
            cases.append(dict(input=name, recipe=recipe, crop=crop, resize=resize, exif=exif, scale=scale,
                              reference=f"refs/{ref}", fullReference=f"refs/{exact}"))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
    for c in cases:
        print(c["input"], c["recipe"], "exif" if c["exif"] else "", "1/%d" % c["scale"])


if __name__ == "__main__":
    main()
