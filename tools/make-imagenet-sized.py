#!/usr/bin/python3
"""Re-encode images at ImageNet's typical size (longer side 500, JPEG quality 90, 4:2:0) for benchmarks.

The sample set holds a 1.9-megapixel photo whose decode alone costs ~60 ms of CPU; ImageNet's validation images
average about 500x375. Usage: tools/make-imagenet-sized.py samples/images OUT_DIR
"""
import pathlib
import sys

from PIL import Image

source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
for path in sorted(source.iterdir()):
    if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}:
        continue
    image = Image.open(path).convert("RGB")
    scale = 500 / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    image.resize(size, Image.BICUBIC).save(target / (path.stem + ".jpg"), quality=90, subsampling=2)
    print(target / (path.stem + ".jpg"), size)
