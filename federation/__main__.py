"""`python -m federation` runs the CLI."""

import sys

from federation.cli import main

sys.exit(main())
