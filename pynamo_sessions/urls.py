"""``path("account/sessions/", include("pynamo_sessions.urls"))``: the sessions page, and the
staff view linked from the admin's user page."""

from __future__ import annotations

from django.urls import path

from pynamo_sessions.web import staff, views

app_name = "pynamo_sessions"

urlpatterns = [
    path("", views.SessionListView.as_view(), name="sessions"),
    path("<str:ref>/revoke/", views.RevokeSessionView.as_view(), name="revoke"),
    path("revoke-others/", views.RevokeOtherSessionsView.as_view(), name="revoke_others"),
    path("staff/user/<str:user_id>/", staff.user_sessions, name="user_sessions"),
]
