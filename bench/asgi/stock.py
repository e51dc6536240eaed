"""Our store with Django's stock async methods: each one runs its sync twin in a thread.

This is what every Django session backend does under ASGI, Django's own included; the
benchmark compares our native path against it on the same store and the same table.
"""

from django.contrib.sessions.backends.base import SessionBase

from pynamo_sessions.backends.dynamodb import SessionStore as NativeStore


class SessionStore(NativeStore):
    aload = SessionBase.aload
    aexists = SessionBase.aexists
    acreate = SessionBase.acreate
    asave = SessionBase.asave
    adelete = SessionBase.adelete
