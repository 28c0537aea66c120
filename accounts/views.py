"""Sign-in pages: login (with "Remember me" and one-time codes), the session timeout
banner's endpoints, the user's signed-in sessions, invitations and passwords."""

import json
import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import invitations, roles, sessions
from accounts.forms import ResetForm, SignInCodeForm, SignInForm
from attendance.web import back_to


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        # Before login(): the sign-in record reads it, and cycle_key keeps it.
        sessions.remember_sign_in(
            request=self.request, remember=form.cleaned_data.get("remember_me", False)
        )
        return super().form_valid(form)

    def get_default_redirect_url(self):
        return roles.home_url(self.request.user)


@never_cache
def sign_in_with_code(request: HttpRequest) -> HttpResponse:
    """A printed one-time code signs the user in once; they then choose a password."""
    form = SignInCodeForm(request, data=request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request,
            username=form.cleaned_data["username"],
            sign_in_code=form.cleaned_data["sign_in_code"],
        )
        if user is not None:
            login(request, user, backend="accounts.backends.SignInCodeBackend")
            return redirect("accounts:password-change")
        error = "That username and code don't match, or the code was used or has expired."
    return render(request, "accounts/sign_in_code.html", {"form": form, "error": error})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(roles.home_url(request.user))


@require_GET
@never_cache
def session_status(request: HttpRequest) -> JsonResponse:
    """When this browser's session runs out, read from the store; never extends it."""
    now = time.time()
    key = request.session.session_key
    expires = None
    if key and request.user.is_authenticated:
        expire_date = (
            Session.objects.filter(session_key=key).values_list("expire_date", flat=True).first()
        )
        if expire_date is not None and expire_date.timestamp() > now:
            expires = int(expire_date.timestamp())
    return JsonResponse({"signed_in": expires is not None, "expires": expires, "now": int(now)})


@require_POST
def session_extend(request: HttpRequest) -> HttpResponse:
    """ "Stay signed in": the session is saved again with a fresh expiry."""
    if not request.user.is_authenticated:
        return _to_login(request)
    sessions.extend_session(request=request)
    expires = int(time.time()) + request.session.get_expiry_age()
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = json.dumps({"session-extended": {"expires": expires}})
        return response
    return back_to(request, request.POST.get("next", ""), roles.home_url(request.user))


def _to_login(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('login')}?{urlencode({'expired': 1})}")


@login_required
@never_cache
def session_list(request: HttpRequest) -> HttpResponse:
    rows = list(sessions.active_sessions(user=request.user)[:50])
    current = request.session.session_key
    for row in rows:
        row.browser = sessions.describe_browser(row.user_agent)
        row.is_current = row.session_key == current
    return render(
        request,
        "accounts/sessions.html",
        {"web_sessions": rows, "others": sum(not r.is_current for r in rows)},
    )


@require_POST
@login_required
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    if sessions.end_user_session(user=request.user, session_id=session_id):
        messages.success(request, "That session is signed out.")
    else:
        messages.info(request, "That session had already ended.")
    return redirect("accounts:sessions")


@require_POST
@login_required
def session_end_others(request: HttpRequest) -> HttpResponse:
    ended = sessions.end_other_sessions(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(request, f"Signed out {ended} other session(s).")
    return redirect("accounts:sessions")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change a password (or choose one, after a code sign-in); every other session ends."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:sessions")

    def get_form_class(self):
        if self.request.user.has_usable_password():
            return super().get_form_class()
        return SetPasswordForm

    @transaction.atomic
    def form_valid(self, form):
        # The form checked the password read at the start of the request. Two tabs
        # of one session changing it at once take turns on the user's row, and the
        # second checks again against what the first saved.
        user = get_user_model().objects.select_for_update().get(pk=self.request.user.pk)
        if user.password != form.user.password:
            if "old_password" in form.fields:
                if not user.check_password(form.cleaned_data["old_password"]):
                    form.add_error("old_password", form.error_messages["password_incorrect"])
                    return self.form_invalid(form)
            elif user.has_usable_password():
                form.add_error(None, "Your password was set meanwhile, in another tab.")
                return self.form_invalid(form)
        form.user = user
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # keeps this session (it cycles its key)
        new_key = self.request.session.session_key
        sessions.follow_session_key(request=self.request, old_key=old_key)
        ended = sessions.end_other_sessions(user=user, keep_session_key=new_key)
        invitations.password_chosen(user=user)
        messages.success(
            self.request,
            "Your password is changed."
            + (f" {ended} other session(s) were signed out." if ended else ""),
        )
        return response


@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitations.open_invitation(token=token)
    except invitations.InvitationError as exc:
        return render(request, "accounts/invitation.html", {"problem": str(exc)}, status=410)
    form = SetPasswordForm(invitation.user, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_invitation(
                token=token, password=form.cleaned_data["new_password1"]
            )
        except invitations.InvitationError as exc:
            return render(request, "accounts/invitation.html", {"problem": str(exc)}, status=410)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your password is set.")
        return redirect(roles.home_url(user))
    return render(request, "accounts/invitation.html", {"form": form, "invited": invitation.user})


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")
    post_reset_login = False

    def form_valid(self, form):
        token = self.request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN, "")
        with transaction.atomic():
            # The link works once, also when it is sent twice at once: the
            # user's row is locked and the token checked again against what
            # is stored now (a reset that got there first changed the password).
            form.user = type(self.user)._default_manager.select_for_update().get(pk=self.user.pk)
            if not self.token_generator.check_token(form.user, token):
                self.validlink = False
                return self.render_to_response(self.get_context_data(form=form))
            response = super().form_valid(form)
            invitations.password_chosen(user=form.user)
        # A reset is for a lost password: whoever else is signed in as this user stops.
        sessions.end_all_sessions(user=form.user)
        return response
