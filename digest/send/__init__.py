"""Sending an issue exactly once: the ledger protocol over the mail backends.

::

    delivery.py   one send of one issue: the queue, connections, retries, the fenced ledger writes
    workers.py    several senders on one issue (PostgreSQL): claims, heartbeats, taking over the dead
    leases.py     one holder per named job, with a fencing number (a paused holder changes nothing)
    variants.py   each reader's theme view of the compiled message, compiled once per choice
"""
