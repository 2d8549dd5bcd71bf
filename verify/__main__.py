"""``python -m verify``: the ``verify`` command."""

import sys

from verify.cli import main

sys.exit(main())
