"""Runs the breachclock engine: see breachclock/worker.py."""

from breachclock.worker import main

if __name__ == "__main__":
    main()
