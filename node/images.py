"""Uploaded images are decoded and re-encoded, never stored as sent.

Magic bytes prove nothing: a file that starts like a PNG can go on as HTML or script, and metadata (EXIF, GPS
position, comments) travels with the pixels. Decoding with Pillow proves the file is the image it claims to be;
re-encoding the decoded pixels keeps the picture and nothing else. The pixel count is checked from the header
before any pixel is decoded, so a small file that expands to gigabytes (a decompression bomb) is refused cheaply.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from node.errors import InvalidInput, UnsupportedMediaType

MAX_PIXELS = 4096 * 4096
"""Largest image (width x height) accepted; logos are a few hundred pixels wide."""

_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg")}


@dataclass(frozen=True)
class Reencoded:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def reencode(content: bytes, *, max_pixels: int = MAX_PIXELS) -> Reencoded:
    """The PNG or JPEG in ``content``, decoded and written again (same format, no metadata, EXIF rotation applied).

    Raises ``UnsupportedMediaType`` for anything that is not a decodable PNG or JPEG (whatever Pillow raises while
    reading it: a hostile file is not a server error) and ``InvalidInput`` for more than ``max_pixels`` pixels.
    """
    try:
        image = Image.open(io.BytesIO(content), formats=tuple(_FORMATS))
    except Image.DecompressionBombError as exc:
        raise InvalidInput("The image has more than {limit} pixels.", params={"limit": max_pixels}) from exc
    except Exception as exc:  # noqa: BLE001 - UnidentifiedImageError, truncated chunks, oversized text chunks...
        raise UnsupportedMediaType("The file is not a PNG or JPEG image.") from exc
    with image:
        # A JPEG with a multi-picture marker opens as MPO (a JPEG subclass): only the two formats are accepted.
        if image.format not in _FORMATS:
            raise UnsupportedMediaType("The file is not a PNG or JPEG image.")
        width, height = image.size
        if width * height > max_pixels:
            raise InvalidInput("The image is {width}x{height} pixels; at most {limit} pixels are accepted.",
                               params={"width": width, "height": height, "limit": max_pixels})  # fmt: skip
        source_format = image.format
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the file's fault
            raise UnsupportedMediaType(
                "The {format} image could not be decoded.", params={"format": source_format}
            ) from exc
    content_type, extension = _FORMATS[source_format]
    output = io.BytesIO()
    if source_format == "JPEG":
        upright.convert("RGB").save(output, format="JPEG", quality=90, optimize=True)
    else:
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        upright.convert("RGBA" if has_alpha else "RGB").save(output, format="PNG", optimize=True)
    return Reencoded(output.getvalue(), content_type, extension, upright.width, upright.height)
