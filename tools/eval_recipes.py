"""The two evaluation recipes' geometric transforms (PIL + torchvision), shared by the scripts that write reference
fixtures, so that every fixture is made with the same crop. Imported from the scripts' own folder (Python puts a
script's folder first on sys.path), so they still run as plain `/usr/bin/python3 tools/<script>.py`.
"""
import torchvision.transforms as T


class PaperCrop:
    """The official evaluation's crop: centred square of S/(S+32) x short side, PIL crop with a float box, BICUBIC to S x S."""

    def __init__(self, size):
        self.size = size
        self.resize = T.Resize((size, size), interpolation=T.InterpolationMode.BICUBIC)

    def __call__(self, img):
        width, height = img.size
        side = float(self.size) / (self.size + 32) * min(width, height)
        top = int(round((height - side) / 2.0))
        left = int(round((width - side) / 2.0))
        return self.resize(img.crop((left, top, left + side, top + side)))


def geometric(recipe, crop, resize):
    """hub: Resize(resize) then CenterCrop(crop) (torch.hub's recipe); paper: PaperCrop(crop)."""
    if recipe == "hub":
        return T.Compose([T.Resize(resize), T.CenterCrop(crop)])
    return PaperCrop(crop)
