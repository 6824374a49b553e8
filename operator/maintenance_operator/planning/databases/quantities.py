"""Kubernetes resource quantities (`10Gi`, `500M`, `1.5Ti`) as numbers, to tell growth from shrinking."""

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": 1,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def parse_quantity(text: str | None) -> Decimal | None:
    """Bytes (or units) as a Decimal, or None for anything this operator's storage sizes never use."""
    match = _QUANTITY.fullmatch((text or "").strip())
    if match is None:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]
    except InvalidOperation:
        return None
