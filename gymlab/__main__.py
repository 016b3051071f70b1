"""``python -m gymlab COMMAND ...``: the ``gymlab`` command (see ``gymlab/cli.py``)."""

import sys

try:  # a Ctrl-C between the package's start-up guard (gymlab/__init__.py) and the command's own
    from gymlab.cli import main
except KeyboardInterrupt:
    raise SystemExit(130) from None

sys.exit(main())
