"""The web side: the "where you're signed in" page and the staff view, and the session-cookie
deploy warnings.

May import the store, ``operations`` (the per-user API) and ``backends/``; nothing imports it but
``urls``, ``checks`` and the commands.
"""
