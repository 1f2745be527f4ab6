"""`python -m kiosk`: the same as the `kiosk` command."""

import sys

from kiosk.app import main

sys.exit(main())
