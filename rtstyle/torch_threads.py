"""How torch's CPU worker threads wait, set before torch loads.

torch's CPU kernels run on OpenMP (libgomp on Linux), whose workers spin at the end of each parallel region until
the others arrive. When other programs keep the cores busy, a spinning worker burns its time slice waiting for one
the kernel has descheduled: on the 2-core VM beside another training job, a johnson step at batch 2 and 128 px took
7.1 s with the default, 1.04 s with OMP_WAIT_POLICY=PASSIVE (workers sleep instead) and 1.01 s on one thread
(docs/benchmarks.md, "torch's threads on a busy machine"). libgomp reads the variable once, when torch loads, so
the CLI sets it before any command runs; a value the user set is kept.
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY = "OMP_WAIT_POLICY"


def prefer_passive_waiting() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user set it or torch has loaded already (too late to matter).
    Returns whether it was set now."""
    if WAIT_POLICY in os.environ or "torch" in sys.modules:
        return False
    os.environ[WAIT_POLICY] = "PASSIVE"
    return True
