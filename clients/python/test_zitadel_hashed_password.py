"""ZITADEL's hashed passwords through its official Python client (PyPI `zitadel-client`, Connect
JSON), unmodified: AddHumanUser's `hashed_password` and UpdateHumanUser's
`password.hashed_password`. The hashes are made here, never with the server's code: a passlib
PBKDF2-SHA256 string with hashlib, a SHA-512 crypt string with Python's crypt module. The user
then signs in with the password through a ZITADEL session and through Identity Toolkit's
accounts:signInWithPassword; a hash the server cannot read is ZITADEL's InvalidArgument.

The client has no management v1 service, so ImportHumanUser's `hashedPassword.value` is not
exercised here (the Node suite's @zitadel/client covers it). The caller is dev mode's
administrator."""

import base64
import hashlib
import secrets
import warnings

import pytest
from zitadel_client import Zitadel
from zitadel_client.models import (
    SessionServiceCheckPassword,
    SessionServiceChecks,
    SessionServiceCheckUser,
    SessionServiceCreateSessionRequest,
    SessionServiceGetSessionRequest,
    UserServiceAddHumanUserRequest,
    UserServiceEmailQuery,
    UserServiceHashedPassword,
    UserServiceListUsersRequest,
    UserServicePassword,
    UserServiceSearchQuery,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
    UserServiceSetPassword,
    UserServiceUpdateHumanUserRequest,
)

from test_zitadel_client import PASSWORD, expect_error, it_error, sign_in, unique_email

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.11 and 3.12; gone in 3.13
        import crypt
except ImportError:
    crypt = None

needs_crypt = pytest.mark.skipif(crypt is None, reason="SHA-512 crypt hashes come from the crypt module")

HASH_NOT_SUPPORTED = (
    "Password hash encoding not supported. "
    "Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets"
)
UNREADABLE = "$1$abc$def"


def passlib_pbkdf2_sha256(password: str, rounds: int = 2000) -> str:
    """passlib's "$pbkdf2-sha256$<rounds>$<salt>$<key>": a random 16-byte salt and a 32-byte key,
    both in passlib's adapted base64 (standard base64 with "." for "+", no padding)."""
    salt = secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds, 32)

    def ab64(raw: bytes) -> str:
        return base64.b64encode(raw).decode().rstrip("=").replace("+", ".")

    return f"$pbkdf2-sha256${rounds}${ab64(salt)}${ab64(key)}"


def sha512_crypt(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


@pytest.fixture
def zitadel(tessera, admin_pat) -> Zitadel:
    return Zitadel.with_access_token(tessera, admin_pat)


def add_human(zitadel: Zitadel, email: str, **password) -> str:
    """AddHumanUser with a verified address and `password` (`password=` or `hashed_password=`); the user id."""
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=email, is_verified=True),
            **password,
        )
    )
    assert added.user_id
    return added.user_id


def password_session(zitadel: Zitadel, user_id: str, password: str):
    return zitadel.sessions.create_session(
        SessionServiceCreateSessionRequest(
            checks=SessionServiceChecks(
                user=SessionServiceCheckUser(user_id=user_id),
                password=SessionServiceCheckPassword(password=password),
            )
        )
    )


def assert_password_checks(zitadel: Zitadel, tessera: str, user_id: str, email: str, password: str) -> None:
    """A session refuses a wrong password ("Password is invalid (COMMAND-3M0fs)") and checks the
    right one; Identity Toolkit signs the user in with it and refuses the wrong one."""
    expect_error(
        lambda: password_session(zitadel, user_id, password + "!"),
        400, "invalid_argument", "Password is invalid", "COMMAND-3M0fs",
    )
    created = password_session(zitadel, user_id, password)
    assert created.session_token
    session = zitadel.sessions.get_session(SessionServiceGetSessionRequest(session_id=created.session_id)).session
    assert session.factors.user.id == user_id
    assert session.factors.password is not None and session.factors.password.verified_at is not None

    signed_in = sign_in(tessera, email, password)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["localId"] == user_id
    assert it_error(sign_in(tessera, email, password + "!")) == "INVALID_PASSWORD"


def users_with_email(zitadel: Zitadel, email: str) -> list[str]:
    listed = zitadel.users.list_users(
        UserServiceListUsersRequest(queries=[UserServiceSearchQuery(email_query=UserServiceEmailQuery(email_address=email))])
    )
    return [user.user_id for user in listed.result or []]


def test_add_human_user_with_a_passlib_pbkdf2_sha256_hash_signs_in_with_its_password(zitadel, tessera):
    email, password = unique_email("hashed"), f"hashed {secrets.token_hex(4)}"
    hash_ = passlib_pbkdf2_sha256(password)
    assert hash_.startswith("$pbkdf2-sha256$2000$") and "+" not in hash_ and "=" not in hash_
    user_id = add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_, change_required=False))
    assert_password_checks(zitadel, tessera, user_id, email, password)


@needs_crypt
def test_add_human_user_with_a_sha512_crypt_hash_signs_in_with_its_password(zitadel, tessera):
    email, password = unique_email("crypt"), f"crypt {secrets.token_hex(4)}"
    hash_ = sha512_crypt(password)
    assert hash_.startswith("$6$")
    user_id = add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_))
    assert_password_checks(zitadel, tessera, user_id, email, password)


def test_add_human_user_with_an_unreadable_hash_is_invalid_argument_and_adds_no_user(zitadel):
    email = unique_email("unreadable")
    expect_error(
        lambda: add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=UNREADABLE)),
        400, "invalid_argument", HASH_NOT_SUPPORTED, "USER-JDk4t",
    )
    assert users_with_email(zitadel, email) == []
    # The address is still free.
    user_id = add_human(zitadel, email, password=UserServicePassword(password=PASSWORD))
    assert users_with_email(zitadel, email) == [user_id]


def test_update_human_user_sets_a_hashed_password(zitadel, tessera):
    email = unique_email("rehashed")
    user_id = add_human(zitadel, email, password=UserServicePassword(password=PASSWORD))

    def update(hash_: str):
        return zitadel.users.update_human_user(
            UserServiceUpdateHumanUserRequest(
                user_id=user_id,
                password=UserServiceSetPassword(
                    hashed_password=UserServiceHashedPassword(hash=hash_), current_password=PASSWORD
                ),
            )
        )

    # An unreadable hash changes nothing: the old password still checks.
    expect_error(lambda: update(UNREADABLE), 400, "invalid_argument", HASH_NOT_SUPPORTED, "USER-oz74onzvqr")
    assert_password_checks(zitadel, tessera, user_id, email, PASSWORD)

    password = f"rehashed {secrets.token_hex(4)}"
    update(passlib_pbkdf2_sha256(password, rounds=1000))
    assert it_error(sign_in(tessera, email, PASSWORD)) == "INVALID_PASSWORD"
    expect_error(
        lambda: password_session(zitadel, user_id, PASSWORD),
        400, "invalid_argument", "Password is invalid", "COMMAND-3M0fs",
    )
    assert_password_checks(zitadel, tessera, user_id, email, password)
