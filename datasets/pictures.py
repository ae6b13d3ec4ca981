"""One picture a person hands in (an upload, a webcam snapshot, a drawing): its header is checked (format,
pixel budget) before Pillow decodes it. Used by the Try page and by a workspace's own classes."""
from __future__ import annotations

import io

import numpy as np

FORMATS = ("PNG", "JPEG", "WEBP")


class PictureError(ValueError):
    """A picture that cannot be used, in plain words."""


def read_picture(raw: bytes, max_pixels: int, name: str = "the picture") -> np.ndarray:
    """An uploaded PNG/JPEG/WebP as uint8 (h, w, 4), turned upright as the camera meant; the header's size
    is checked against `max_pixels` before any pixel is decoded."""
    from PIL import Image, ImageOps

    limit = (f"more pixels than the {max_pixels:,} this server decodes (server setting LAYERLAB_MAX_IMAGE_PIXELS); "
             "use a smaller picture")
    try:
        img = Image.open(io.BytesIO(raw))  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own limit, already past ours
        raise PictureError(f"{name} has {limit}") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for what is not a picture
        raise PictureError(f"{name} is not a picture Layerlab can read; use a PNG or JPEG file") from None
    if img.format not in FORMATS:
        raise PictureError(f"{name} is a {img.format} file; use a PNG or JPEG picture")
    if img.width * img.height > max_pixels:
        raise PictureError(f"{name} is {img.width}×{img.height} pixels, {limit}")
    try:  # PNG, JPEG and WebP decode to the size their header declares
        return np.asarray(ImageOps.exif_transpose(img).convert("RGBA"))
    except Image.DecompressionBombError:
        raise PictureError(f"{name} declares more pixels than its header shows; it was not decoded") from None
    except Exception:  # noqa: BLE001 - truncated or corrupt files
        raise PictureError(f"{name} is damaged and could not be decoded; take or save the picture again") from None
