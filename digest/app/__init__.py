"""The use cases: what the CLI, the web apps and the scheduler ask digest to do, each rule once.

::

    session.py    what every entry point opens first: the settings of a config, its store, the schema
    hints.py      the command lines digest prints: ``digest [--config PATH] ARGS``
    issues/       Newsletter: which issue a request means, build, freeze, plan a send, send, test send (a module each)
    scheduling.py the schedule's slots: run one, catch up after a restart, make the draft
    approval.py   drafts and approvals (schedule.approval = "required")
    desk.py       the editor's desk: one change to the issue file per button
    preview.py    the editor's workbench: the issue a preview query means, built, with a sample copy
    subscribers.py  a reader's membership (unsubscribe, sign-up, preferences) and the operator's roster
    lost_choices.py  readers' theme choices no theme has any more: said in status, logged at each open
    choices.py    a reader's own choices, the rules once: which themes they get, a pause
    subscriptions.py  a reader's newsletters in the install, as their pages tick, untick and leave them
    bounces.py    what came back: process one message, review the unattributed, read the mailbox
    status.py     how it stands: the schedule, the totals /metrics reports, what /healthz says
    themes.py     how well posts are placed, against the editor's final word (digest themes report)
    clicks.py     counted links ([tracking] clicks): the copy that carries them, the redirect that counts them
    report.py     digest report: deliveries, what came back, clicks per post and theme, the list over time
    charts.py     the report's charts (pygal SVG), for the Readers page and digest report --html
    archive.py    the published archive: pages and feeds of the sent issues (served, or written to a folder)
    archive_month.py  the archive's month pages: every post the sent issues carried in a month
    newsletters.py  an install's newsletters: add one, list them, and the ones the database holds that no config names
    output.py     an issue's files on disk (digest.html, digest.txt, digest.json), and the JSON forms
    sample.py     the sample run (`make run`): the sample issue to the outbox, on a database of its own
    scaffold.py   a new newsletter in a folder (`digest init`)
    dkim.py       DKIM keys as an operator handles them: make one, compare it with DNS
    deliverability.py  what a send promises receivers: can DMARC pass, does anything read the mailbox copies name
    api.py        the HTTP API's tokens (only their hashes) and its audit log
    retention.py  what would grow for ever, pruned by age ([retention]): delivered webhook events, the audit log
    people.py     the list as another system keeps it in step (the API): add, read, page, change, unsubscribe, forget
    catalogue.py  the stored issues, the report and the review as the API reads them: the CLI's own calls
    dispatch.py   a send started from the API: digest send's plan, refusals and gate, on a thread, and its progress
    doctor/       digest doctor: the setup's checks (DNS, the public app, the mailbox, the secrets), each with its fix

The entry points (:mod:`digest.cli` with its scheduler jobs, :mod:`digest.web`)
parse input, call one of these and render the result, and import nothing
below this layer but the values and the errors (an import-linter
contract); the domain below (:mod:`digest.issue`, :mod:`digest.send`) does
the work.
"""
