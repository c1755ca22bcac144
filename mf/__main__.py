"""``python -m mf``: the command line (see :mod:`mf.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
