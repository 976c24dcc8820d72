#!/usr/bin/python3
"""Makes phone-camera-like JPEGs from the images a Debian machine can get, for the decode benchmarks and the
fast-vs-exact agreement measurement (docs/decoding.md). Nothing it writes is committed.

  make-phone-photos.py --out DIR [--count 200] [--seed 1] [SOURCE_DIR_OR_FILE ...]

Sources default to /usr/share/backgrounds (apt: gnome-backgrounds mate-backgrounds ukui-wallpapers
lomiri-wallpapers lomiri-wallpapers-20.04) plus samples/images. Each photo is a random 4:3 (or 3:4, 16:9) crop of a
source, resized to a phone sensor size (8 to 16 MP, some 2 MP), given sensor-like noise (luma-heavy Gaussian noise
plus a little chroma noise, after a slight blur so the noise is not the only high frequency) and saved as a
baseline or progressive JPEG at quality 80 to 95 with 4:2:0 chroma (a few 4:4:4), as phone cameras write them.
Also writes the fixed benchmark files: phone-12mp-420.jpg, phone-12mp-420-progressive.jpg, small-500x375.jpg and
small-500x375-progressive.jpg. Needs python3-pil and python3-numpy (Debian).
"""
import argparse
import os
import random
import sys

import numpy as np
from PIL import Image, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCES = ["/usr/share/backgrounds", os.path.join(HERE, "..", "samples", "images")]
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
# (long side, short side) of common phone sensors; 1920x1440 for photos that were shrunk before upload.
SIZES = [(4032, 3024)] * 4 + [(4000, 3000), (3264, 2448), (4624, 3468), (1920, 1440)]


def sources(paths):
    found = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                found += [os.path.join(root, f) for f in files if f.lower().endswith(EXTENSIONS)]
        elif os.path.isfile(p):
            found.append(p)
    return sorted(found)


def photo(src, size, rng, nrng):
    w, h = src.size
    long_side, short_side = size
    aspect = rng.choice([4 / 3] * 3 + [16 / 9])
    portrait = rng.random() < 0.3
    # Largest crop of the chosen aspect, then a random 70-100 % of it at a random place (different framings).
    r = 1 / aspect if portrait else aspect
    cw, ch = (w, int(w / r)) if w / h < r else (int(h * r), h)
    f = rng.uniform(0.7, 1.0)
    cw, ch = max(16, int(cw * f)), max(16, int(ch * f))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out_w, out_h = (long_side, int(long_side / aspect)) if not portrait else (int(long_side / aspect), long_side)
    # Blur at the source's resolution (cheaper), so the noise is not the only high frequency after the upscale.
    img = src.crop((x, y, x + cw, y + ch)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    img = img.resize((out_w, out_h), Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32)
    sigma = rng.uniform(1.5, 5.0)
    luma = nrng.standard_normal(a.shape[:2], dtype=np.float32)[..., None] * sigma
    chroma = nrng.standard_normal(a.shape, dtype=np.float32) * (sigma * 0.4)
    a = np.clip(a + luma + chroma + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(a, "RGB")


def save(img, path, quality, progressive, subsampling):
    img.save(path, "JPEG", quality=quality, progressive=progressive, subsampling=subsampling, optimize=progressive)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("sources", nargs="*")
    args = parser.parse_args()
    files = sources(args.sources or DEFAULT_SOURCES)
    if not files:
        sys.exit("no source images: apt-get install gnome-backgrounds mate-backgrounds ukui-wallpapers lomiri-wallpapers")
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    nrng = np.random.default_rng(args.seed)
    loaded = {}
    for i in range(args.count):
        path = files[i % len(files)]
        if path not in loaded:
            with Image.open(path) as im:
                loaded = {path: im.convert("RGB")}
        size = rng.choice(SIZES)
        img = photo(loaded[path], size, rng, nrng)
        quality = rng.randint(80, 95)
        progressive = rng.random() < 0.2
        subsampling = 2 if rng.random() < 0.9 else 0  # PIL: 2 = 4:2:0, 0 = 4:4:4
        name = f"photo-{i:03d}-{img.width}x{img.height}-q{quality}{'-prog' if progressive else ''}{'-444' if subsampling == 0 else ''}.jpg"
        save(img, os.path.join(args.out, name), quality, progressive, subsampling)
        print(name, os.path.basename(path), flush=True)
    # The fixed benchmark files.
    bench = os.path.join(args.out, "bench")
    os.makedirs(bench, exist_ok=True)
    with Image.open(files[0]) as im:
        src = im.convert("RGB")
    big = photo(src, (4032, 3024), random.Random(7), np.random.default_rng(7))
    big = big.resize((4032, 3024), Image.BICUBIC) if big.size != (4032, 3024) else big
    save(big, os.path.join(bench, "phone-12mp-420.jpg"), 90, False, 2)
    save(big, os.path.join(bench, "phone-12mp-420-progressive.jpg"), 90, True, 2)
    small = big.resize((500, 375), Image.LANCZOS)
    save(small, os.path.join(bench, "small-500x375.jpg"), 90, False, 2)
    save(small, os.path.join(bench, "small-500x375-progressive.jpg"), 90, True, 2)


if __name__ == "__main__":
    main()
