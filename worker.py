"""The engine: ``python worker.py`` (as ``breachclock engine``); ``worker.py stop``."""

import sys

from breachclock.app.engine import main

if __name__ == "__main__":
    main(sys.argv[1:])
