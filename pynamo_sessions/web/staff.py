"""The staff view of a user's sessions, in the admin's look, linked from the admin's user page.

Staff with the permission to change users see the same list as the user and can sign the user
out everywhere, for an account under attack. Every revocation is logged with who did it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pynamo_sessions import conf, signals
from pynamo_sessions.exceptions import RevocationIncomplete
from pynamo_sessions.operations import users
from pynamo_sessions.web.views import REVOKE_PER_REQUEST, revocation_notice, shown_sessions, still_signed_in


def user_sessions(request: HttpRequest, user_id: str) -> HttpResponse:
    from django.contrib import admin

    # admin_view: staff only (else the admin's login page), CSRF-protected, never cached.
    view: Any = admin.site.admin_view(_user_sessions)
    return view(request, user_id)  # type: ignore[no-any-return]


def _user_sessions(request: HttpRequest, user_id: str) -> HttpResponse:
    from django.contrib import admin

    user_model = get_user_model()
    opts = user_model._meta
    if not request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}"):
        raise PermissionDenied
    try:
        subject = user_model._default_manager.get(pk=user_id)
    except (user_model.DoesNotExist, ValueError, ValidationError):
        raise Http404(_("There is no such user.")) from None
    notice = None
    status = 200
    if request.method == "POST":
        try:
            count = users.revoke_all(subject.pk, by=request.user, limit=REVOKE_PER_REQUEST, reason=signals.BY_STAFF,
                                     request=request)
        except RevocationIncomplete as error:
            status = 503
            done = ngettext("Signed %(user)s out of %(count)d session.", "Signed %(user)s out of %(count)d sessions.",
                            len(error.deleted)) % {"user": subject, "count": len(error.deleted)}
            notice = f"{done} {still_signed_in(error)}"
        else:
            notice = revocation_notice(ngettext(
                "Signed %(user)s out of %(count)d session.", "Signed %(user)s out of %(count)d sessions.", count,
            ) % {"user": subject, "count": count})
    current = users.current_key(request.session) if subject.pk == request.user.pk else None
    shown, total = shown_sessions(subject.pk, current)
    context = {
        **admin.site.each_context(request),
        "title": _("Sessions of %(user)s") % {"user": subject},
        "subject": subject,
        "opts": opts,
        "sessions": shown,
        "total": total,
        "notice": notice,
        "failed": status != 200,
        "revocations": last_revocations(subject.pk),
    }
    return TemplateResponse(request, "admin/pynamo_sessions/user_sessions.html", context, status=status)


#: How many of a user's last revocations the staff view shows.
REVOCATIONS_SHOWN = 10


def last_revocations(user_id: Any) -> list[Any] | None:
    """The user's last revocations from where the site keeps them (DYNAMODB_SESSIONS_REVOCATIONS),
    or None when it keeps none here."""
    source = conf.conf.REVOCATIONS
    if source is None:
        return None
    if isinstance(source, str):
        source = import_string(source)
    return list(source(user_id, REVOCATIONS_SHOWN))[:REVOCATIONS_SHOWN]
