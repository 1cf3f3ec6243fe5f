"""An account's accent colour: its format, its contrast with the white text of buttons (WCAG 2.x)."""
from __future__ import annotations

import math
import re

from portal.errors import ValidationFailed

#: ``#rrggbb``, either case (stored lower case).
ACCENT_PATTERN = r"^#[0-9A-Fa-f]{6}$"
#: WCAG 2.x success criterion 1.4.3 (AA) for normal text: buttons carry white text on the accent.
MIN_CONTRAST = 4.5
WHITE = "#ffffff"


def relative_luminance(colour: str) -> float:
    """The WCAG 2.x relative luminance of ``#rrggbb``: 0 for black, 1 for white."""
    channels = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG 2.x contrast ratio of two ``#rrggbb`` colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def checked_accent(colour: str | None, field: str = "accent_colour") -> str | None:
    """``colour`` lower-cased, or :class:`ValidationFailed` when it is not ``#rrggbb`` or white text
    on it would be below :data:`MIN_CONTRAST`; None stays None (no accent: the portal's own)."""
    if colour is None:
        return None
    if not re.fullmatch(ACCENT_PATTERN, colour):
        raise _refused(field, f"{field} must be a colour written #rrggbb (six hexadecimal digits).")
    ratio = contrast_ratio(colour, WHITE)
    if ratio < MIN_CONTRAST:
        shown = round(ratio, 2)
        if shown >= MIN_CONTRAST:  # 4.4996 is "4.49", never a ratio that would pass
            shown = math.floor(ratio * 100) / 100
        raise _refused(field, f"{field} {colour} gives white text a contrast ratio of {shown:.2f}:1; "
                              f"at least {MIN_CONTRAST}:1 is needed (WCAG 2.x AA): choose a darker colour.")
    return colour.lower()


def usable(colour: str | None, default: str | None = None) -> str | None:
    """``colour`` if it is ``#rrggbb``, else ``default``: only ever a colour goes into a style."""
    return colour if colour and re.fullmatch(ACCENT_PATTERN, colour) else default


def shade(colour: str, factor: float = 0.8) -> str:
    """``colour`` darkened (each channel times ``factor``): the hover state of links and buttons."""
    return "#" + "".join(f"{round(int(colour[i:i + 2], 16) * factor):02x}" for i in (1, 3, 5))


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"loc": [field], "msg": message}])
