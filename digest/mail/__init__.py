"""Email: the precompiled per-issue message and the backends that carry it.

::

    message.py   the issue as MIME bytes, compiled once, filled in per recipient
    dkim.py      DKIM signatures, the static parts of a copy canonicalised and hashed once per issue
    backends/    how a message goes: smtp (relays.py: several relays), outbox, console, memory
    notice.py    short notes to one person: a confirmation, a welcome, the editors' draft
    bounces.py   what a message that came back says: a bounce, a complaint, a mailed unsubscribe
    mailbox.py   the bounce mailbox read over IMAP, each message handed on and filed away (and its login checked)
    dns.py       DNS as receivers read it (dnspython, the doctor's nameservers): TXT, MX, addresses
    reach.py     our own public addresses asked over HTTP(S) as a mail client would: /healthz, one-click
"""
