"""`python -m hal`: the technician's command line (the same as the console script `locker-hal`).

See hal.cli for the commands, the output and the exit status.
"""

from __future__ import annotations

import sys

from hal.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
