"""A test-only app: a probe event, handlers with scripted failures, and an effect table.

Installed only under pytest (``FLOWMART_EXTRA_APPS``), so the event spine and
the API kernel are tested through their real code paths without borrowing a
domain app's tables.
"""
