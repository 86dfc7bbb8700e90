-- The breachclock store (send ledger and incident register) beside Temporal's own databases.
CREATE DATABASE breachclock OWNER temporal;
