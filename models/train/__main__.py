"""`python -m models.train ...`, the same as `forecall train ...`."""

import sys

from models.train.cli import main

sys.exit(main())
