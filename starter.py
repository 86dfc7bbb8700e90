"""The breachclock command line: ``python starter.py --help``."""

from breachclock.cli import cli

if __name__ == "__main__":
    cli()
