#!/usr/bin/env python3
"""Write docs/parity.md: the runtime's status for every helper, map type and program
type of the kernel's UAPI, read off the code (``ebpf.vm.parity``).

    python tools/gen_parity.py [--check]

``--check`` exits 1 when the committed page differs from what would be written.
What follows ``ebpf.vm.parity.HAND_WRITTEN`` on the page is written by hand and kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "parity.md"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare with the committed page")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from ebpf.vm.parity import HAND_WRITTEN, markdown

    text = markdown()
    old = OUTPUT.read_text() if OUTPUT.is_file() else ""
    if HAND_WRITTEN in old:
        text += "\n" + HAND_WRITTEN + old.partition(HAND_WRITTEN)[2]
    if args.check:
        same = OUTPUT.is_file() and OUTPUT.read_text() == text
        print(f"{OUTPUT.relative_to(ROOT)} is {'current' if same else 'out of date'}")
        return 0 if same else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
