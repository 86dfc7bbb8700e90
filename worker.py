"""The engine: ``python worker.py`` (as ``breachclock engine``); ``worker.py stop``.

The engine is imported under ``__main__`` only: the engine's worker process for
filings (``runtime.offload``, started with "spawn") runs this file again as
``__mp_main__``, and with the import at the top it loaded the whole engine a second
time at every start (~0.6 s of CPU) for a process that renders documents.
"""

import sys

if __name__ == "__main__":
    from breachclock.app.engine import main

    main(sys.argv[1:])
