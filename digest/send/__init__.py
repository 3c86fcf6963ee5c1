"""Sending an issue exactly once: the ledger protocol over the mail backends.

::

    delivery.py   one send of one issue under its lease (the ledger protocol), the message compiled once per issue
    run.py        the run a send and the workers share: the queue, connections, retries, the fenced ledger writes
    workers.py    several senders on one issue (PostgreSQL): claims, heartbeats, taking over the dead
    leases.py     one holder per named job, with a fencing number (a paused holder changes nothing)
    variants.py   each reader's theme view of the compiled message, compiled once per choice
    pacing.py     sending that listens: a receiver's rate limit slows the run (AIMD), the warm-up's daily caps
    outcomes.py   the words of a paused run: what failed on our side and the settings to check

What a run counts as it goes (Progress) and how it ended (SendReport) are values every layer above names:
:mod:`digest.models`.
"""
