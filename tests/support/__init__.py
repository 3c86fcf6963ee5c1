"""The helpers the test files share, one module for each thing they own.

The tests' support, and where each part lives:

- ``conftest.py``: pytest's fixtures (settings in a temporary project, a fixed clock, a real HTTP server, the
  stores, the live public app) and the few plain helpers they are made of (``write``, ``LiveServer``, ``http_request``);
- ``mailserver.py``, ``imapserver.py``, ``mtaserver.py``: the real servers the tests talk to;
- ``factories.py``: posts and stored issues built without a source;
- ``support/``: the plain helpers more than one test file calls (a project to run, the command run in this process or as a subprocess,
  the browser, the sample issue, sign-up by HTTP, ...), and ``migrated.py``: every new store of a test starts from a copy of
  what the schema's revisions made, once per process (conftest installs it; tests marked ``real_migrations`` run them).

A test that runs for seconds is marked ``slow(seconds)``: conftest starts those first, the longest first, so that the
workers (``-n auto --maxschedchunk 1`` in pyproject.toml: two a core) end together.

A test file imports from these, never from another test file (``test_fixture_layer.py`` holds that).
"""
