"""``python -m ge2conn`` runs the ``ge2conn`` console script."""

import sys

from ge2conn.main import main

sys.exit(main())
