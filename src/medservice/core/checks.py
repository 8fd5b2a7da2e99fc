"""Start-up checks that tell an operator exactly what is missing."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from django.core.checks import Warning as CheckWarning
from django.core.checks import register

INSTALL_FONTS = "apt-get install -y fonts-noto-cjk fontconfig"


def cjk_font_available() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        result = subprocess.run(  # noqa: S603  (fixed argv)
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(result.stdout.strip())


@register("medservice")
def check_cjk_fonts(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    if cjk_font_available():
        return []
    return [
        CheckWarning(
            "No CJK font is installed: Chinese text in PDF reports would not render.",
            hint=f"Install one (Debian: {INSTALL_FONTS}).",
            id="medservice.W001",
        )
    ]
