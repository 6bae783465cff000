"""The vendored Checkout Web SDK is the pinned, unmodified build the script fetched."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "dintero_django" / "static" / "dintero_django" / "vendor"
SCRIPT = ROOT / "scripts" / "vendor_web_sdk.sh"


def test_vendored_build_matches_the_pinned_version_and_its_hash() -> None:
    name, version, integrity, built = (VENDOR / "dintero-checkout-web-sdk.VERSION").read_text().split()
    script = SCRIPT.read_text()

    assert name == "@dintero/checkout-web-sdk"
    assert f'VERSION="{version}"' in script and f'INTEGRITY="{integrity}"' in script
    digest = hashlib.sha256((VENDOR / "dintero-checkout-web-sdk.umd.min.js").read_bytes()).hexdigest()
    assert built == f"sha256:{digest}", "the vendored file was changed by hand: run scripts/vendor_web_sdk.sh"


def test_licence_travels_with_the_build() -> None:
    licence = (VENDOR / "dintero-checkout-web-sdk.LICENSE").read_text()

    assert licence.startswith("MIT License") and re.search(r"Copyright \d{4} Dintero", licence)
