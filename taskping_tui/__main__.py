import sys

from taskping_tui.cli import main

sys.exit(main())
