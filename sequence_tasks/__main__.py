"""``python -m sequence_tasks EXPERIMENT ...``: see ``sequence_tasks/cli.py``."""

import sys

from gymlab.sequence_tasks.cli import main

sys.exit(main())
