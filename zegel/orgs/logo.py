"""An organisation's logo: an uploaded PNG or JPEG, checked and re-encoded by Pillow.

What is stored and served is never the upload itself but a PNG that Pillow drew from its
pixels, at most MAX_WIDTH x MAX_HEIGHT: whatever else the file held (metadata, trailing data,
a script) is gone. Only the PNG and JPEG decoders are tried, so an SVG, a PDF or an HTML page
is "not an image"; the declared dimensions are checked before any pixel is decoded, so a small
file claiming a huge image (a decompression bomb) costs nothing.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 1024 * 1024
MAX_WIDTH, MAX_HEIGHT = 600, 200
# Pixels Pillow may decode for one logo (a 4000 x 4000 photo, more than any logo needs).
MAX_SOURCE_PIXELS = 16_000_000
FORMATS = ("PNG", "JPEG")


class LogoRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanLogo:
    png: bytes
    width: int
    height: int


def clean_logo(data: bytes) -> CleanLogo:
    """The logo re-encoded as PNG, or LogoRefused with a reason fit to show the admin."""
    if len(data) > MAX_BYTES:
        raise LogoRefused(too_large_message())
    if not data:
        raise LogoRefused(_("Choose a logo file (PNG or JPEG)."))
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns below its hard limit: treat the warning as one.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > MAX_SOURCE_PIXELS:
                    raise LogoRefused(_too_many_pixels())
                image.load()
                picture = image.convert("RGBA")
    except LogoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (Image.MAX_IMAGE_PIXELS), met when the header is read.
        raise LogoRefused(_too_many_pixels()) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        # SyntaxError: what some of Pillow's decoders raise for a broken file.
        raise LogoRefused(_("The file is not a PNG or JPEG image. Other formats, SVG "
                            "among them, are not accepted.")) from None
    picture.thumbnail((MAX_WIDTH, MAX_HEIGHT))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return CleanLogo(png=out.getvalue(), width=picture.width, height=picture.height)


def too_large_message() -> str:
    return _("The logo is larger than %(n)d MB.") % {"n": MAX_BYTES // (1024 * 1024)}


def _too_many_pixels() -> str:
    return _("The image is too large in pixels: a logo can have at most %(n)d million pixels.") \
        % {"n": MAX_SOURCE_PIXELS // 1_000_000}
