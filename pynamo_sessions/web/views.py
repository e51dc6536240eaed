""""Where you're signed in": a user's live sessions, and signing them out.

    path("account/sessions/", include("pynamo_sessions.urls"))

Class-based, so a project can subclass them (another template, another redirect). Every view
reads the user's sessions through the user index (one query, no scan) and acts only on those:
a reference that is not one of the user's own sessions answers 404 and changes nothing, so a
user can neither revoke nor learn anything about anybody else's session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from pynamo_sessions import conf, signals
from pynamo_sessions.exceptions import RevocationIncomplete
from pynamo_sessions.operations import devices, users

logger = logging.getLogger("pynamo_sessions")


@dataclass(frozen=True)
class ShownSession:
    """A session as the page shows it."""

    ref: str
    device: str
    ip_address: str | None
    last_seen: Any
    expires: Any
    created: Any
    is_current: bool


def revocation_notice(done: str) -> str:
    """What a page says after signing sessions out: what was done, and, where the session cache
    is each process's own, that it is not done everywhere yet (see pynamo_sessions.E105)."""
    if users.unreachable_caches() is None:
        return done
    return _("%(done)s Other server processes may keep serving it until it expires: this site's "
             "session cache is not shared between them.") % {"done": done}


def still_signed_in(error: RevocationIncomplete) -> str:
    """What a page adds when signing sessions out could not end them all (a new press finds
    exactly the ones left)."""
    left = len(error.remaining)
    return ngettext(
        "%(left)d is STILL signed in: the session store did not let it be deleted just now. Press the "
        "button again to sign out the rest.",
        "%(left)d are STILL signed in: the session store did not let them be deleted just now. Press the "
        "button again to sign out the rest.", left,
    ) % {"left": left}


#: Rows a page shows (the most recently used sessions): a device name is parsed for each.
PAGE_SIZE = 50
#: Sessions one press of "sign out all other sessions" ends; the page then shows what is left.
REVOKE_PER_REQUEST = 500


def shown_sessions(user_id: Any, current_key: str | None) -> tuple[list[ShownSession], int | None]:
    """The user's most recently used live sessions as the pages show them (at most PAGE_SIZE),
    and how many live ones there are (None: more than PAGE_SIZE, not counted)."""
    found, total = users.recent_sessions(user_id, PAGE_SIZE)
    shown = [
        ShownSession(
            ref=s.ref, device=devices.describe(s.user_agent), ip_address=s.ip_address,
            last_seen=s.last_seen, expires=s.expires, created=s.created, is_current=s.key == current_key,
        )
        for s in found
    ]
    return shown, total


class SessionListView(LoginRequiredMixin, TemplateView):
    """The signed-in user's sessions, each with a button to sign it out."""

    template_name = "pynamo_sessions/sessions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.request
        context["sessions"], context["total"] = shown_sessions(request.user.pk, users.current_key(request.session))
        context["layout_template"] = conf.conf.LAYOUT_TEMPLATE
        return context

    def confirm(self, notice: str) -> HttpResponse:
        """Answer a revocation with the updated list and what was done."""
        return self.render_to_response(self.get_context_data(notice=revocation_notice(notice)))

    def incomplete(self, error: RevocationIncomplete) -> HttpResponse:
        """Answer a revocation that could not end every session: what was done and what was
        not, with the list as it is now (the ones still signed in are on it), as a 503."""
        count = len(error.deleted)
        done = ngettext("Signed out %(count)d other session.", "Signed out %(count)d other sessions.", count)
        notice = f"{done % {'count': count}} {still_signed_in(error)}"
        response = self.render_to_response(self.get_context_data(notice=notice, failed=True), status=503)
        response["Retry-After"] = "1"
        return response

    @method_decorator(never_cache)  # the pages show IP addresses and devices: no shared cache keeps them
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return super().dispatch(request, *args, **kwargs)


class RevokeSessionView(SessionListView):
    """POST: sign one of the user's sessions out. Signing out the current one logs out."""

    http_method_names = ("post",)

    def post(self, request: HttpRequest, ref: str) -> HttpResponse:
        target = users.find(request.user.pk, ref, limit=users.PAGE_READ_LIMIT)
        if target is None:
            raise Http404(_("You have no such session."))
        if target.key == users.current_key(request.session):
            return self.logged_out(request)
        users.end(request.user.pk, target.key, by=request.user, reason=signals.BY_USER,  # found among the user's own
                  user_agent=target.user_agent, request=request)
        return self.confirm(_("Signed out %(device)s.") % {"device": devices.describe(target.user_agent)})

    def logged_out(self, request: HttpRequest) -> HttpResponse:
        """As Django's LogoutView: log out, then go to LOGOUT_REDIRECT_URL (or the login page)."""
        user = request.user
        logout(request)  # flushes this session: its item is deleted
        logger.info("User %s (id %s) signed out their current session.", user.get_username(), user.pk)
        return HttpResponseRedirect(resolve_url(settings.LOGOUT_REDIRECT_URL or settings.LOGIN_URL))


class RevokeOtherSessionsView(SessionListView):
    """POST: sign out every session of the user but this one."""

    http_method_names = ("post",)

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            count = users.revoke_all(request.user.pk, keep=request.session, by=request.user, limit=REVOKE_PER_REQUEST,
                                     reason=signals.EVERYWHERE, request=request)
        except RevocationIncomplete as error:
            return self.incomplete(error)
        notice = ngettext(
            "Signed out %(count)d other session.", "Signed out %(count)d other sessions.", count,
        ) % {"count": count}
        if count == REVOKE_PER_REQUEST:
            notice += " " + _("There may be more: sign out all other sessions again.")
        return self.confirm(notice)
