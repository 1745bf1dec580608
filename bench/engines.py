"""Time the inference backends side by side; a thin wrapper over `rtstyle bench` (same options).

    python bench/engines.py --sizes 320x240,640x480,1280x720 --frames 10
    python bench/engines.py --style starry --sizes 1920x1080 --json > bench.json
"""

import sys

from rtstyle.cli.main import main

if __name__ == "__main__":
    main(["bench", *sys.argv[1:]])
