"""Invitations through ZITADEL's official Python client (PyPI `zitadel-client`, Connect JSON),
unmodified: `users.create_invite_code`, `users.resend_invite_code` and `users.verify_invite_code`
(zitadel.user.v2.UserService/CreateInviteCode, ResendInviteCode, VerifyInviteCode).

The invitee is a human made with AddHumanUser: an address whose verification code is returned
(so nothing is mailed and the address stays unverified) and no password, so it cannot sign in
yet. An invitation's code is returned to the caller (`returnCode`) or mailed as a link: to the
caller's `urlTemplate` with `{{.UserID}}`, `{{.OrgID}}` and `{{.Code}}` filled in, else to
Tessera's invitation page at the path of ZITADEL's login UI; the subject names the caller's
`applicationName`, else the project. ResendInviteCode mails a new code the same way and the old
one stops working. VerifyInviteCode proves the invited address, once; the code is the proof, so
any signed-in caller may use it (here the administrator, and a user with no permission over the
invitee through its own Identity Toolkit ID token), while the other two need `user.write`.
Three wrong codes void an invitation, and so does proving the address with VerifyEmail (ZITADEL
empties the invitation's code when the address is verified).

Returned codes are made on the suite's shared dev-mode server (`tessera`), whose administrator
(an IAM_OWNER machine user, through its PAT) calls. Mailed ones are read off a real SMTP server
(conftest's `mail_sink`) that a dev-mode server of this module's own sends its mail to
(conftest's `mailing_tessera`). Refused calls arrive as the client's ApiError with ZITADEL's
body, and change nothing: the user's address stays as verified as it was, it signs in as it did
(if at all), and no email goes out. Every user is made for its test, with a random address."""

import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from zitadel_client import Zitadel
from zitadel_client.exceptions import ApiError
from zitadel_client.models import (
    UserServiceAddHumanUserRequest,
    UserServiceCreateInviteCodeRequest,
    UserServiceGetUserByIDRequest,
    UserServiceListAuthenticationMethodTypesRequest,
    UserServicePassword,
    UserServiceResendInviteCodeRequest,
    UserServiceSendInviteCode,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
    UserServiceVerifyEmailRequest,
    UserServiceVerifyInviteCodeRequest,
)

from conftest import PROJECT, MailSink
from test_zitadel_client import PASSWORD, body_of, expect_error, unique_email, wrong
from test_zitadel_sessions import as_user

# Connect's code names, with their gRPC numbers.
INVALID_ARGUMENT = "invalid_argument"  # 3
PERMISSION_DENIED = "permission_denied"  # 7
FAILED_PRECONDITION = "failed_precondition"  # 9

CREATE_INITIALIZED = (400, FAILED_PRECONDITION, "User is already initialized", "COMMAND-EF34g")
RESEND_INITIALIZED = (400, FAILED_PRECONDITION, "User is already initialized", "COMMAND-Gg42s")
CREATE_NO_USER = (400, FAILED_PRECONDITION, "User could not be found", "COMMAND-Wgvn4")
RESEND_NO_USER = (400, FAILED_PRECONDITION, "User could not be found", "COMMAND-H3b2a")
VERIFY_NO_USER = (400, FAILED_PRECONDITION, "User could not be found", "COMMAND-F5g2h")
NO_CODE = (400, FAILED_PRECONDITION, "Code not found", "COMMAND-Wr3gq")
CODE_INVALID = (400, INVALID_ARGUMENT, "Code is invalid", "COMMAND-Wgn4q")
DENIED = (403, PERMISSION_DENIED, "No matching permissions found", "AUTH-5mWD2")

# A well-formed id that no user has.
UNKNOWN_USER = "123456789012345678"

CODE = re.compile(r"[A-Z0-9]{6}")
PASSWORD_METHOD = "AUTHENTICATION_METHOD_TYPE_PASSWORD"

# The caller's invitation page, and the page Tessera links to without one.
TEMPLATE = "https://app.example.com/invite?userID={{.UserID}}&orgID={{.OrgID}}&code={{.Code}}"
APPLICATION = "CustomerPortal"
INVITE_PAGE = "/ui/login/user/invite"


@pytest.fixture
def zitadel(tessera, admin_pat) -> Zitadel:
    return Zitadel.with_access_token(tessera, admin_pat)


# ---------------------------------------------------------------------------------------------
# Helpers.


def invitee(zitadel: Zitadel) -> SimpleNamespace:
    """A human with a unique, unverified address (its verification code returned, so not
    mailed) and no password: id, email, organization, and the address's verification code."""
    address = unique_email("invite")
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=address, return_code={}),
        )
    )
    assert added.user_id and added.details.resource_owner, added
    assert CODE.fullmatch(added.email_code or ""), added
    user = SimpleNamespace(
        id=added.user_id, email=address, org=added.details.resource_owner, email_code=added.email_code
    )
    assert state(zitadel, user.id) == (address, False, [])
    return user


def signed_up(zitadel: Zitadel, verified: bool = True) -> SimpleNamespace:
    """A human who can sign in already: a unique address (verified or not) and a password."""
    address = unique_email("invite")
    email = (
        UserServiceSetHumanEmail(email=address, is_verified=True)
        if verified
        else UserServiceSetHumanEmail(email=address, return_code={})
    )
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Grace", family_name="Hopper"),
            email=email,
            password=UserServicePassword(password=PASSWORD),
        )
    )
    return SimpleNamespace(id=added.user_id, email=address, org=added.details.resource_owner)


def state(zitadel: Zitadel, user_id: str) -> tuple[str, bool, list[str]]:
    """What an invitation may change, as GetUserByID and ListAuthenticationMethodTypes show it:
    the address, whether it is verified (left out of Connect JSON when false), and the ways the
    user signs in."""
    human = zitadel.users.get_user_by_id(UserServiceGetUserByIDRequest(user_id=user_id)).user.human
    methods = zitadel.users.list_authentication_method_types(
        UserServiceListAuthenticationMethodTypesRequest(user_id=user_id)
    )
    return human.email.email, human.email.is_verified is True, sorted(methods.auth_method_types or [])


def create(client: Zitadel, user_id: str, **verification):
    return client.users.create_invite_code(UserServiceCreateInviteCodeRequest(user_id=user_id, **verification))


def returned_code(client: Zitadel, user: SimpleNamespace) -> str:
    """CreateInviteCode with `returnCode`: the code, checked to be ZITADEL's six characters."""
    created = create(client, user.id, return_code={})
    assert created.details is not None and created.details.resource_owner == user.org, created
    assert created.details.change_date is not None, created
    assert CODE.fullmatch(created.invite_code or ""), created
    return created.invite_code


def resend(client: Zitadel, user_id: str):
    return client.users.resend_invite_code(UserServiceResendInviteCodeRequest(user_id=user_id))


def verify(client: Zitadel, user_id: str, code: str):
    return client.users.verify_invite_code(
        UserServiceVerifyInviteCodeRequest(user_id=user_id, verification_code=code)
    )


def refused(call, error: tuple, zitadel: Zitadel, user_id: str | None = None, sink: MailSink | None = None):
    """`call()` fails with `error` and changes nothing: the user's state (if any) is what it
    was, and (with a `sink`) no email went out."""
    before = state(zitadel, user_id) if user_id else None
    expect_error(call, *error)
    if user_id:
        assert state(zitadel, user_id) == before
    if sink:
        assert sink.received.empty(), sink.received.get_nowait()


def invitation(sink: MailSink, user: SimpleNamespace) -> tuple[str, str]:
    """The next email, which must be an invitation for `user` with one link: its subject and
    the link."""
    recipients, message = sink.next()
    assert recipients == [user.email]
    subject = str(message["Subject"])
    assert subject.startswith("Invitation to "), subject
    text = message.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 1, text
    return subject, links[0]


def templated_code(link: str, user: SimpleNamespace) -> str:
    """The code of a link to TEMPLATE, checked to be the template with the user's id, its
    organization and a code filled in."""
    prefix = f"https://app.example.com/invite?userID={user.id}&orgID={user.org}&code="
    assert link.startswith(prefix), link
    code = link.removeprefix(prefix)
    assert CODE.fullmatch(code), link
    return code


# ---------------------------------------------------------------------------------------------
# Returned codes.


def test_a_returned_code_proves_the_address_once_for_any_signed_in_caller(zitadel, tessera):
    user = invitee(zitadel)
    code = returned_code(zitadel, user)
    # Still unverified, still without a way to sign in; a returned code is not resent.
    assert state(zitadel, user.id) == (user.email, False, [])
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id)

    # A user with no permission over the invitee, calling with its own ID token: it may not
    # invite, but it may use the code.
    stranger = as_user(tessera, signed_up(zitadel).email)
    refused(lambda: create(stranger, user.id, return_code={}), DENIED, zitadel, user.id)
    refused(lambda: resend(stranger, user.id), DENIED, zitadel, user.id)
    verified = verify(stranger, user.id, code)
    assert verified.details is not None and verified.details.resource_owner == user.org, verified
    assert verified.details.change_date is not None, verified
    # The address is proven; the user still chooses how to sign in.
    assert state(zitadel, user.id) == (user.email, True, [])

    # Once: used, the code is wrong for everyone, and there is nothing to resend.
    refused(lambda: verify(stranger, user.id, code), CODE_INVALID, zitadel, user.id)
    refused(lambda: verify(zitadel, user.id, code), CODE_INVALID, zitadel, user.id)
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id)

    # Without a valid token there is no caller to use a code.
    user = invitee(zitadel)
    code = returned_code(zitadel, user)
    anonymous = Zitadel.with_access_token(tessera, "not-a-token")
    with pytest.raises(ApiError) as caught:
        verify(anonymous, user.id, code)
    assert caught.value.code == 401, caught.value.response_body
    assert body_of(caught.value)["code"] == "unauthenticated"
    assert state(zitadel, user.id) == (user.email, False, [])
    # The code survived that: the administrator uses it.
    verify(zitadel, user.id, code)
    assert state(zitadel, user.id) == (user.email, True, [])


def test_a_new_invitation_replaces_the_earlier_code(zitadel):
    user = invitee(zitadel)
    first = returned_code(zitadel, user)
    second = returned_code(zitadel, user)
    assert first != second
    refused(lambda: verify(zitadel, user.id, first), CODE_INVALID, zitadel, user.id)
    verify(zitadel, user.id, second)
    assert state(zitadel, user.id) == (user.email, True, [])


def test_three_wrong_codes_void_the_invitation(zitadel):
    # Two wrong tries leave the code working.
    user = invitee(zitadel)
    code = returned_code(zitadel, user)
    for _ in range(2):
        refused(lambda: verify(zitadel, user.id, wrong(code)), CODE_INVALID, zitadel, user.id)
    verify(zitadel, user.id, code)
    assert state(zitadel, user.id) == (user.email, True, [])

    # The third voids it: the right code is refused after it.
    user = invitee(zitadel)
    code = returned_code(zitadel, user)
    for _ in range(3):
        refused(lambda: verify(zitadel, user.id, wrong(code)), CODE_INVALID, zitadel, user.id)
    refused(lambda: verify(zitadel, user.id, code), CODE_INVALID, zitadel, user.id)
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id)
    # A new invitation starts over.
    verify(zitadel, user.id, returned_code(zitadel, user))
    assert state(zitadel, user.id) == (user.email, True, [])


def test_refusals_change_nothing(zitadel):
    # A user who can sign in already is not invited, nor is an invitation resent to it.
    initialized = signed_up(zitadel, verified=False)
    assert state(zitadel, initialized.id) == (initialized.email, False, [PASSWORD_METHOD])
    refused(lambda: create(zitadel, initialized.id, return_code={}), CREATE_INITIALIZED, zitadel, initialized.id)
    refused(lambda: create(zitadel, initialized.id), CREATE_INITIALIZED, zitadel, initialized.id)
    refused(lambda: resend(zitadel, initialized.id), RESEND_INITIALIZED, zitadel, initialized.id)
    # Nor does it hold a code to use.
    refused(lambda: verify(zitadel, initialized.id, "ABCDEF"), CODE_INVALID, zitadel, initialized.id)

    # A user that does not exist.
    refused(lambda: create(zitadel, UNKNOWN_USER, return_code={}), CREATE_NO_USER, zitadel)
    refused(lambda: resend(zitadel, UNKNOWN_USER), RESEND_NO_USER, zitadel)
    refused(lambda: verify(zitadel, UNKNOWN_USER, "ABCDEF"), VERIFY_NO_USER, zitadel)

    # An invitee without an invitation: nothing to resend, no code to use.
    user = invitee(zitadel)
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id)
    refused(lambda: verify(zitadel, user.id, "ABCDEF"), CODE_INVALID, zitadel, user.id)
    # Those tries were no tries at an invitation: a new one takes three.
    code = returned_code(zitadel, user)
    for _ in range(2):
        refused(lambda: verify(zitadel, user.id, wrong(code)), CODE_INVALID, zitadel, user.id)
    verify(zitadel, user.id, code)
    assert state(zitadel, user.id) == (user.email, True, [])


# ---------------------------------------------------------------------------------------------
# Mailed invitations.


def test_a_mailed_invitation_is_resent_as_it_was_mailed(mailing_tessera, mail_sink):
    """To the caller's template, naming the caller's application: no code in the answer; the
    resend mails a new code the same way, and only the new one proves the address, once."""
    zitadel = mailing_tessera.zitadel
    user = invitee(zitadel)
    assert mail_sink.received.empty(), "a returned address code is not mailed"
    request = UserServiceCreateInviteCodeRequest(
        user_id=user.id, send_code=UserServiceSendInviteCode(url_template=TEMPLATE, application_name=APPLICATION)
    )
    # What the client sends.
    assert request.to_dict() == {"userId": user.id, "sendCode": {"urlTemplate": TEMPLATE, "applicationName": APPLICATION}}

    created = zitadel.users.create_invite_code(request)
    assert created.details is not None and created.details.resource_owner == user.org, created
    assert created.invite_code is None, created
    subject, link = invitation(mail_sink, user)
    assert subject == f"Invitation to {APPLICATION}"
    first = templated_code(link, user)
    assert state(zitadel, user.id) == (user.email, False, [])

    resent = resend(zitadel, user.id)
    assert resent.details is not None and resent.details.resource_owner == user.org, resent
    subject, link = invitation(mail_sink, user)
    assert subject == f"Invitation to {APPLICATION}"
    second = templated_code(link, user)
    assert second != first
    assert mail_sink.received.empty(), "one email per invitation"

    refused(lambda: verify(zitadel, user.id, first), CODE_INVALID, zitadel, user.id, mail_sink)
    verified = verify(zitadel, user.id, second)
    assert verified.details is not None and verified.details.resource_owner == user.org, verified
    assert state(zitadel, user.id) == (user.email, True, [])
    refused(lambda: verify(zitadel, user.id, second), CODE_INVALID, zitadel, user.id, mail_sink)
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id, mail_sink)


@pytest.mark.parametrize(
    "verification",
    [
        pytest.param({"send_code": UserServiceSendInviteCode()}, id="send_code without url_template"),
        pytest.param({}, id="neither"),
    ],
)
def test_an_invitation_without_a_template_links_to_the_invitation_page(mailing_tessera, mail_sink, verification):
    """No verification, or send_code without url_template, as in ZITADEL: no code in the
    answer, and the email links to Tessera's invitation page on the origin the request came to
    (dev mode), with ZITADEL's query parameters; the page leaves the code to be used."""
    zitadel = mailing_tessera.zitadel
    user = invitee(zitadel)
    request = UserServiceCreateInviteCodeRequest(user_id=user.id, **verification)
    # What the client sends: `{"userId": …, "sendCode": {}}`, or `{"userId": …}`.
    assert request.to_dict() == {"userId": user.id, **({"sendCode": {}} if verification else {})}

    created = zitadel.users.create_invite_code(request)
    assert created.details is not None and created.details.resource_owner == user.org, created
    assert created.invite_code is None, created
    subject, link = invitation(mail_sink, user)
    assert subject == f"Invitation to {PROJECT}"
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == mailing_tessera.base, link
    assert parts.path == INVITE_PAGE, link
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in query.values()), link
    query = {key: values[0] for key, values in query.items()}
    assert query.keys() == {"userID", "loginname", "code", "orgID"}, link
    assert (query["userID"], query["loginname"], query["orgID"]) == (user.id, user.email, user.org), link
    assert CODE.fullmatch(query["code"]), link

    # The page opens, and its visit leaves the code alone.
    page = requests.get(link, timeout=10)
    assert page.status_code == 200, page.text
    assert user.email in page.text
    assert state(zitadel, user.id) == (user.email, False, [])

    # A resend goes the same way, with a new code that replaces the first.
    resend(zitadel, user.id)
    resent_subject, resent_link = invitation(mail_sink, user)
    assert resent_subject == subject
    resent = {key: values[0] for key, values in parse_qs(urlsplit(resent_link).query).items()}
    assert urlsplit(resent_link)._replace(query="") == parts._replace(query="")
    assert {**resent, "code": query["code"]} == query, resent_link
    assert resent["code"] != query["code"], resent_link
    refused(lambda: verify(zitadel, user.id, query["code"]), CODE_INVALID, zitadel, user.id, mail_sink)
    verify(zitadel, user.id, resent["code"])
    assert state(zitadel, user.id) == (user.email, True, [])
    assert mail_sink.received.empty(), "one email per invitation"


def test_a_voided_mailed_invitation_is_not_resent(mailing_tessera, mail_sink):
    """Three wrong codes void a mailed invitation: its code is refused, and there is nothing
    to resend (no email); a new invitation starts over."""
    zitadel = mailing_tessera.zitadel
    user = invitee(zitadel)
    create(zitadel, user.id, send_code=UserServiceSendInviteCode(url_template=TEMPLATE))
    subject, link = invitation(mail_sink, user)
    code = templated_code(link, user)
    for _ in range(3):
        refused(lambda: verify(zitadel, user.id, wrong(code)), CODE_INVALID, zitadel, user.id, mail_sink)
    refused(lambda: verify(zitadel, user.id, code), CODE_INVALID, zitadel, user.id, mail_sink)
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id, mail_sink)

    create(zitadel, user.id, send_code=UserServiceSendInviteCode(url_template=TEMPLATE, application_name=APPLICATION))
    subject, link = invitation(mail_sink, user)
    assert subject == f"Invitation to {APPLICATION}"
    verify(zitadel, user.id, templated_code(link, user))
    assert state(zitadel, user.id) == (user.email, True, [])


def test_proving_the_address_otherwise_voids_the_invitation(mailing_tessera, mail_sink):
    """As in ZITADEL, where the address's verification empties the invitation's code: once
    VerifyEmail proves the address, the invitation's code is refused and there is nothing to
    resend; the user, still without a way to sign in, may be invited anew."""
    zitadel = mailing_tessera.zitadel
    user = invitee(zitadel)
    create(zitadel, user.id, send_code=UserServiceSendInviteCode(url_template=TEMPLATE))
    _, link = invitation(mail_sink, user)
    code = templated_code(link, user)
    zitadel.users.verify_email(UserServiceVerifyEmailRequest(user_id=user.id, verification_code=user.email_code))
    assert state(zitadel, user.id) == (user.email, True, [])

    refused(lambda: verify(zitadel, user.id, code), CODE_INVALID, zitadel, user.id, mail_sink)
    refused(lambda: resend(zitadel, user.id), NO_CODE, zitadel, user.id, mail_sink)
    verify(zitadel, user.id, returned_code(zitadel, user))
    assert state(zitadel, user.id) == (user.email, True, [])


def test_refused_invitations_mail_nothing(mailing_tessera, mail_sink):
    """A user who can sign in already gets no invitation and no resend, however it would be
    mailed."""
    zitadel = mailing_tessera.zitadel
    user = signed_up(zitadel, verified=False)
    mailed = UserServiceSendInviteCode(url_template=TEMPLATE, application_name=APPLICATION)
    refused(lambda: create(zitadel, user.id, send_code=mailed), CREATE_INITIALIZED, zitadel, user.id, mail_sink)
    refused(lambda: create(zitadel, user.id), CREATE_INITIALIZED, zitadel, user.id, mail_sink)
    refused(lambda: resend(zitadel, user.id), RESEND_INITIALIZED, zitadel, user.id, mail_sink)
    refused(lambda: create(zitadel, UNKNOWN_USER, send_code=mailed), CREATE_NO_USER, zitadel, sink=mail_sink)
    refused(lambda: resend(zitadel, UNKNOWN_USER), RESEND_NO_USER, zitadel, sink=mail_sink)
    # Nothing is on its way either: the next email is the next invitation's.
    user = invitee(zitadel)
    create(zitadel, user.id, send_code=mailed)
    _, link = invitation(mail_sink, user)
    templated_code(link, user)
    assert mail_sink.received.empty(), "one email per invitation"
