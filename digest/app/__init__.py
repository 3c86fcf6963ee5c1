"""The use cases: what the CLI, the web apps and the scheduler ask digest to do, each rule once.

::

    issues.py     Newsletter: which issue a request means, build, freeze, plan a send, send, test send
    approval.py   drafts and approvals (schedule.approval = "required")
    bounces.py    what came back: process one message, review the unattributed, read the mailbox
    subscribers.py  a reader's membership: one-click unsubscribe, sign-up and confirmation, preferences
    status.py     how it stands: the schedule, and the totals /metrics reports
    archive.py    the published archive: pages and feeds of the sent issues (served, or written to a folder)
    output.py     an issue's files on disk (digest.html, digest.txt, digest.json)

The entry points (:mod:`digest.cli`, :mod:`digest.web`, :mod:`digest.schedule`)
parse input, call one of these and render the result; the domain below
(:mod:`digest.issue`, :mod:`digest.send`) does the work.
"""
