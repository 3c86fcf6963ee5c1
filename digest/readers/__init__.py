"""What readers did with an issue, counted without tracking any of them.

::

    clicks.py       the redirect's rules: a person's click, a link scanner's fetch, one client's repeat, an address's cap
    disclosure.py   which click counts may be shown: the floor under which a count could name a reader
"""
