"""The composition root: the processes breachclock runs (the engine, the demo, the
``breachclock`` command), built from every layer below. Nothing below imports it."""
