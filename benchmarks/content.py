"""How often ``wavesr.extend.content_of`` picks the wrong full-band model on the held-out splits.

Every file of the test split of the full-band speech and music corpora (``wavesr corpus build
speech-fullband`` / ``music-fullband``) is classified from its first minute, as ``wavesr
upsample`` does; the wrong picks are counted in files and in seconds of audio.

    python benchmarks/content.py [--split test]
"""

from __future__ import annotations

import argparse

from wavesr.data.defaults import load_default
from wavesr.extend import file_content

CORPORA = {"speech-fullband": "speech", "music-fullband": "music"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test")
    args = ap.parse_args()
    print(f"| corpus ({args.split} split) | files | picked wrongly | seconds | seconds picked wrongly |")
    print("|---|---|---|---|---|")
    for name, truth in CORPORA.items():
        items = load_default(name).split(args.split)
        wrong = [it for it in items if file_content(it.path) != truth]
        seconds = sum(it.duration for it in items)
        wrong_seconds = sum(it.duration for it in wrong)
        print(f"| {name} | {len(items)} | {len(wrong)} | {seconds:.0f} | {wrong_seconds:.0f} |")


if __name__ == "__main__":
    main()
