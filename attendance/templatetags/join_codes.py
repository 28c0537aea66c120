"""The join code's QR: an inline SVG of the device page's URL with the code in it."""

from urllib.parse import urlencode

import segno
from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

register = template.Library()

DEVICE_PAGE_PATH = "/device/"


@register.simple_tag
def device_page_url(base_url: str, code: str) -> str:
    """Absolute when the page knows its own address, so a phone can open it.

    settings.PUBLIC_URL wins: a lecturer on http://127.0.0.1:8000 would
    otherwise show phones a QR code of an address only their own laptop has.
    """
    base = settings.PUBLIC_URL or base_url or ""
    return f"{base.rstrip('/')}{DEVICE_PAGE_PATH}?{urlencode({'code': code})}"


@register.simple_tag
def qr_svg(url: str, fluid: bool = False) -> str:
    """`fluid`: no fixed size, only a viewBox, so CSS sizes it (the projector view)."""
    qr = segno.make(url, error="m")
    # segno writes only sizes and path data, never the URL itself: safe markup.
    return mark_safe(qr.svg_inline(scale=4, border=2, omitsize=fluid))  # noqa: S308
