"""Uploaded images are decoded and re-encoded: what is stored is the picture, never the bytes as sent."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from node.errors import InvalidInput, UnsupportedMediaType
from node.images import reencode


def _image(fmt: str, size: tuple[int, int] = (40, 20), mode: str = "RGB", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def test_a_png_comes_back_as_a_png_of_the_same_size() -> None:
    result = reencode(_image("PNG"))
    assert (result.content_type, result.extension, result.width, result.height) == ("image/png", "png", 40, 20)
    assert Image.open(io.BytesIO(result.content)).format == "PNG"


def test_a_jpeg_comes_back_as_a_jpeg_without_its_metadata() -> None:
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x8825] = {2: (1.0, 2.0, 3.0)}  # GPS latitude
    original = _image("JPEG", exif=exif.tobytes())
    assert b"secret description" in original
    result = reencode(original)
    assert result.content_type == "image/jpeg"
    assert b"secret description" not in result.content
    assert not Image.open(io.BytesIO(result.content)).getexif()


def test_the_exif_orientation_is_applied_to_the_pixels() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    result = reencode(_image("JPEG", size=(40, 20), exif=exif.tobytes()))
    assert (result.width, result.height) == (20, 40)


def test_bytes_after_a_png_are_dropped() -> None:
    trailer = b"<html><script>alert(1)</script></html>"
    result = reencode(_image("PNG") + trailer)
    assert trailer not in result.content


def test_png_magic_bytes_followed_by_html_are_refused() -> None:
    polyglot = b"\x89PNG\r\n\x1a\n<html><body><script>alert(document.domain)</script></body></html>"
    with pytest.raises(UnsupportedMediaType):
        reencode(polyglot)


def test_a_truncated_png_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        reencode(_image("PNG", size=(300, 300))[:200])


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP"])
def test_other_image_formats_are_refused(fmt: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        reencode(_image(fmt))


def test_svg_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        reencode(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded() -> None:
    # 10000 x 10000 single-colour PNG: a few KiB on the wire, 300 MB once decoded.
    bomb = _image("PNG", size=(10_000, 10_000), mode="1")
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInput, match="pixels"):
        reencode(bomb)
