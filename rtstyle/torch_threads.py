"""How long torch's CPU worker threads spin while they wait, set before torch loads.

torch's CPU kernels run on OpenMP (libgomp on Linux), whose workers spin at the end of each parallel region until
the others arrive: 300,000 turns by default. When another program's threads want the same cores (a second
training, a torch webcam), a spinning worker burns its time slice waiting for one the kernel has descheduled.
On the 2-core VM, two trainings side by side (johnson, batch 2 at 128 px, float32) took 2.7 s a step each with
libgomp's default, 1.04 s with OMP_WAIT_POLICY=PASSIVE (no spinning) and 1.23 s with GOMP_SPINCOUNT=10000; alone,
0.55 s, 0.61 s and 0.56 s: passive waiting costs 11-53% on small steps of a quiet machine (each wake-up goes through
the kernel), a short spin about nothing (docs/benchmarks.md, "torch's threads on a busy machine"). So the CLI
sets GOMP_SPINCOUNT=10000 before any command runs. libgomp reads it once, when torch loads; a GOMP_SPINCOUNT or
OMP_WAIT_POLICY the user set is kept. Other OpenMP runtimes (macOS's libomp) ignore it.
"""

from __future__ import annotations

import os
import sys

SPIN_COUNT = "GOMP_SPINCOUNT"
WAIT_POLICY = "OMP_WAIT_POLICY"
SHORT_SPIN = "10000"


def prefer_short_spinning() -> bool:
    """Set GOMP_SPINCOUNT=10000 unless the user chose how OpenMP waits or torch has loaded already (too late to
    matter). Returns whether it was set now."""
    if SPIN_COUNT in os.environ or WAIT_POLICY in os.environ or "torch" in sys.modules:
        return False
    os.environ[SPIN_COUNT] = SHORT_SPIN
    return True
