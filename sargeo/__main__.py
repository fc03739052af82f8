"""``python -m sargeo``."""

import sys

from sargeo.cli import main

sys.exit(main())
