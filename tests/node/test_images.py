"""Uploaded images are decoded and re-encoded: what is stored is the picture, never the bytes as sent."""

from __future__ import annotations

import contextlib
import io
import random

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


def test_a_png_with_a_truncated_chunk_is_refused_not_a_crash() -> None:
    """Found by review: Pillow raised OSError/ValueError from ``open`` itself (truncated IHDR, huge text chunk)."""
    header = b"\x89PNG\r\n\x1a\n"
    for hostile in (
        header + b"\x00\x00\x00\x0dIHDR\x00\x00",
        header + _image("PNG")[8:33] + b"\x00\x00\x03\xe8tEXtabc",
    ):
        with pytest.raises(UnsupportedMediaType):
            reencode(hostile)


def test_a_multi_picture_jpeg_is_refused() -> None:
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (20, 20)), Image.new("RGB", (20, 20))
    first.save(buffer, format="MPO", save_all=True, append_images=[second])
    with pytest.raises(UnsupportedMediaType):
        reencode(buffer.getvalue())


def test_random_mutations_of_a_png_never_raise_anything_but_a_refusal() -> None:
    original = _image("PNG", size=(30, 30))
    rng = random.Random(8)
    for _ in range(500):
        mutated = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        with contextlib.suppress(UnsupportedMediaType, InvalidInput):  # anything else fails the test
            reencode(bytes(mutated))
