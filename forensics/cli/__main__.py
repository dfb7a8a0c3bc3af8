"""``python -m forensics.cli``: the ``forensics`` command."""

import sys

from forensics.cli.main import main

sys.exit(main())
