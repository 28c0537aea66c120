"""The join code's QR: an inline SVG of the device page's URL with the code in it."""

from urllib.parse import urlencode

import segno
from django import template
from django.utils.safestring import mark_safe

register = template.Library()

DEVICE_PAGE_PATH = "/device/"


@register.simple_tag
def device_page_url(base_url: str, code: str) -> str:
    """Absolute when the page knows its own address, so a phone can open it."""
    return f"{(base_url or '').rstrip('/')}{DEVICE_PAGE_PATH}?{urlencode({'code': code})}"


@register.simple_tag
def qr_svg(url: str, fluid: bool = False) -> str:
    """`fluid`: no fixed size, only a viewBox, so CSS sizes it (the projector view)."""
    qr = segno.make(url, error="m")
    # segno writes only sizes and path data, never the URL itself: safe markup.
    return mark_safe(qr.svg_inline(scale=4, border=2, omitsize=fluid))  # noqa: S308
