"""The rules for who is on the list and how they are named: below everything that stores or mails them.

::

    addresses.py    an address validated once on the way in (email-validator), names cleaned
    tokens.py       HMAC-signed tokens: unsubscribe and preferences links, confirmations, VERP return paths
    csv_formats.py  lists as other tools export them (Mailchimp, listmonk, Buttondown, plain email[,name])
"""
