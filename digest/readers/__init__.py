"""What readers did with an issue, counted without tracking any of them.

::

    clicks.py   the redirect's rules: a person's click, a link scanner's fetch, one client's repeat
"""
