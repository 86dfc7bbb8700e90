"""The domain core: the rules, clocks and documents of privacy incidents at a telecom
operator. No Temporal, asyncio, SQL or network: everything here is a plain function of
its inputs, tested as such (``tests/domain``)."""
