"""The web entry points: each parses a request, calls one use case of :mod:`digest.app` and renders its answer.

::

    public.py       ``digest serve``: sign-up, confirmation, one-click unsubscribe, the archive; every newsletter's
                    pages under its base path
    api.py          ``digest serve``'s HTTP API under /api/v1/: tokens, scopes, rates, problems, the audit log
    api_doc.py      its operations, each named once, and the OpenAPI 3.1 document made from them
    api_shapes.py   its requests and answers as typed dataclasses; api_schema.py: those as JSON Schema, bodies read
    preferences.py  a reader's preferences page (themes, pause, their newsletters), behind their signed link
    metrics.py      ``/metrics`` (Prometheus) and ``/healthz``, from :mod:`digest.app.status`
    preview.py      ``digest preview``: the editor's workbench served live, with the desk's forms
    readers.py      the Readers page (``digest report`` in pictures): the preview's /readers, ``digest report --html``
    pages.py        the HTML templates' environment every page here is rendered by, and the public pages' frame
    favicon.py      ``/favicon.ico`` for both servers: a small icon, cached for a week
    guard.py        what every server shares: its own host names only, no framing, page tokens, rate limits
    server.py       how both servers hold connections: a deadline for each request, caps per client and in all
"""
