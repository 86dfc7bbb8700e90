"""The breachclock command line: ``python starter.py --help`` (as ``breachclock``).

Imported under ``__main__`` only, as in ``worker.py``: a process spawned from a command
(the demo's engine renders filings in one) runs this file again as ``__mp_main__``.
"""

if __name__ == "__main__":
    from breachclock.app.main import main

    main(prog_name="starter.py")
