"""ember.backends.cudnn: torch's cuDNN switches. cuDNN is not available (no GPU); the flags are
plain module attributes a script may set and read (``cudnn.deterministic = True``), as torch's,
and change nothing: ember's CPU kernels are deterministic and have no autotuner."""
from __future__ import annotations

enabled = True
deterministic = False
benchmark = False
benchmark_limit = 10
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    """None: there is no cuDNN library."""
    return None
