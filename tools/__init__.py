"""Generators for files committed under deploy/ (run through make; tests fail when their output is stale)."""

import sys
from collections.abc import Callable
from pathlib import Path


def indented(text: str, prefix: str) -> str:
    """`text` with every non-blank line prefixed, as a YAML block nested under a key (blank lines stay empty)."""
    return "".join(f"{prefix}{line}\n" if line.strip() else "\n" for line in text.splitlines())


def regenerate(source: Path, target: Path, render: Callable[[str], str]) -> None:
    """Write `target` from `source`: what `make` runs, and what the drift tests compare with."""
    target.write_text(render(source.read_text()))
    print(f"wrote {target}", file=sys.stderr)
