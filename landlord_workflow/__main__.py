"""``python -m landlord_workflow``: the ``landlord-workflow`` command line."""

import sys

from landlord_workflow.cli import main

if __name__ == "__main__":
    sys.exit(main())
