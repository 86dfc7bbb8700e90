"""The breachclock command line: ``python starter.py --help`` (as ``breachclock``)."""

from breachclock.app.main import main

if __name__ == "__main__":
    main(prog_name="starter.py")
