"""``python -m ml.cli``: the ``lookalike`` command without its installed script."""

import sys

from ml.cli import main

sys.exit(main())
