"""``python -m operations``: see ``operations.cli``."""

import sys

from operations.cli import main

sys.exit(main())
