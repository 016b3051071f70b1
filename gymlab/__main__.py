"""``python -m gymlab COMMAND ...``: the ``gymlab`` command (see ``gymlab/cli.py``)."""

import sys

from gymlab.cli import main

sys.exit(main())
