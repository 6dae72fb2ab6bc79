from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404

from organizations.permissions import membership_for


def member_required(view):
    """Require a signed-in member of the request's organization.

    Anonymous visitors go to the sign-in page; signed-in non-members get a
    404, as if the page did not exist.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for(request.user, connection.tenant)
        if membership is None:
            raise Http404("Not found.")
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapper
