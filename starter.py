"""The breachclock command line: ``python starter.py --help``."""

from breachclock.cli import main

if __name__ == "__main__":
    main()
