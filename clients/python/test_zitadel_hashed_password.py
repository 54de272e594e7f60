"""ZITADEL's hashed passwords through its official Python client (PyPI `zitadel-client`, Connect
JSON), unmodified: AddHumanUser's `hashed_password` and UpdateHumanUser's
`password.hashed_password`. The hashes are made here, never with the server's code, each from a
random password (and random salts):

- passlib's PBKDF2-SHA256 string, with hashlib;
- SHA-512 crypt (`$6$`) and MD5-crypt (`$1$<salt>$<checksum>`), with Python's crypt module;
- phpass's portable hashes, WordPress's `$P$` and phpBB's `$H$` (MD5), and Drupal 7's `$S$`
  (SHA-512, cut to 55 characters), with `phpass_portable` below, a transcription of Openwall
  phpass's `crypt_private`/`encode64` and Drupal 7's `_password_crypt`, checked against a
  passlib vector;
- passwap's `$md5salted-prefix$<salt>$<base64(md5(salt‖password))>` and
  `$md5salted-suffix$<salt>$<base64(md5(password‖salt))>`, checked against passwap's own
  vectors, and its md5plain (32 hex digits of md5(password)), with hashlib and base64.

The user then signs in with the password through a ZITADEL session and through Identity
Toolkit's accounts:signInWithPassword (the first match rehashes; the sign-ins after it check the
server's own hash); a hash the server cannot read, such as a phpass string with more than 2^18
rounds, a Drupal string a character short, or an unknown md5salted variant, is ZITADEL's
InvalidArgument and adds no user (or, in an update, changes nothing).

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

needs_crypt = pytest.mark.skipif(crypt is None, reason="SHA-512 and MD5 crypt hashes come from the crypt module")

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


def md5_crypt(password: str, salt: str | None = None) -> str:
    """glibc's MD5-crypt, `$1$<salt>$<22 characters>`: crypt.mksalt's random 8-character salt,
    or `salt` (at most 8 characters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_MD5) if salt is None else f"$1${salt}")


# phpass's itoa64: crypt's base64 alphabet. A setting's fourth character's index is log2 of the rounds.
ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def encode64(raw: bytes) -> str:
    """Openwall phpass's `encode64($input, strlen($input))` (Drupal 7's `_password_base64_encode`
    is the same): each group of up to three bytes, read little-endian, gives up to four
    characters of ITOA64, six bits at a time from the lowest; a short last group gives
    one character more than its bytes."""
    out = []
    for start in range(0, len(raw), 3):
        group = raw[start:start + 3]
        value = int.from_bytes(group, "little")
        out.extend(ITOA64[(value >> shift) & 0x3F] for shift in range(0, 6 * (len(group) + 1), 6))
    return "".join(out)


def phpass_portable(password: str, setting: str) -> str:
    """The portable hash of `password` under `setting` (its first 12 characters: `$P$`, `$H$` or
    `$S$`, the rounds character, 8 salt characters).

    `$P$`/`$H$` are Openwall phpass's `crypt_private` (WordPress, phpBB): n is the index of
    setting[3] in ITOA64, x = md5(salt‖password), then 2^n times x = md5(x‖password); the hash
    is the setting's 12 characters and encode64(x), 22 characters. `$S$` is Drupal 7's
    `_password_crypt('sha512', …)`: the same with SHA-512, and the result (12 + 86 characters)
    cut to DRUPAL_HASH_LENGTH, 55."""
    digest = {"$P$": hashlib.md5, "$H$": hashlib.md5, "$S$": hashlib.sha512}[setting[:3]]
    count_log2, salt, secret = ITOA64.index(setting[3]), setting[4:12], password.encode()
    assert len(salt) == 8
    x = digest(salt.encode() + secret).digest()
    for _ in range(1 << count_log2):
        x = digest(x + secret).digest()
    return (setting[:12] + encode64(x))[:55]


def phpass_hash(password: str, prefix: str, rounds: str) -> str:
    """A portable hash with a random 8-character salt from ITOA64; `rounds` is the rounds character."""
    salt = "".join(secrets.choice(ITOA64) for _ in range(8))
    return phpass_portable(password, prefix + rounds + salt)


def md5salted(password: str, variant: str, salt: str) -> str:
    """passwap's md5salted: md5 of the salt (its text as written, not decoded) before ("prefix")
    or after ("suffix") the password, in standard base64 with padding."""
    salted = salt + password if variant == "prefix" else password + salt
    return f"$md5salted-{variant}${salt}${base64.b64encode(hashlib.md5(salted.encode()).digest()).decode()}"


def md5plain(password: str) -> str:
    """passwap's md5plain: the 32 hex digits of md5(password)."""
    return hashlib.md5(password.encode()).hexdigest()


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


def test_the_phpass_transcription_reproduces_a_known_hash():
    """passlib's phpass hash of "correct horse": 2^8 rounds ("6"), salt "Xk3lE9pa"."""
    known = "$P$6Xk3lE9paPIfLaFEmpf.BstdxHZMkQ1"
    assert ITOA64.index(known[3]) == 8
    assert phpass_portable("correct horse", known[:12]) == known
    assert phpass_portable("correct horse!", known[:12]) != known


def test_the_md5salted_construction_reproduces_passwaps_vectors():
    """passwap's md5salted tests: password "Test1000!", salt "c2FsdA==" taken as text."""
    assert md5salted("Test1000!", "prefix", "c2FsdA==") == "$md5salted-prefix$c2FsdA==$0M2MYNUmNumHqqQ+kmuTUQ=="
    assert md5salted("Test1000!", "suffix", "c2FsdA==") == "$md5salted-suffix$c2FsdA==$R58+SD/95ORa9VZ9BPS5FA=="


@needs_crypt
@pytest.mark.parametrize("salt_length", [8, 3], ids=["mksalt", "short-salt"])
def test_add_human_user_with_an_md5_crypt_hash_signs_in_with_its_password(zitadel, tessera, salt_length):
    email, password = unique_email("md5crypt"), f"md5crypt {secrets.token_hex(4)}"
    salt = None if salt_length == 8 else "".join(secrets.choice(ITOA64) for _ in range(salt_length))
    hash_ = md5_crypt(password, salt)
    prefix, checksum = hash_.rsplit("$", 1)
    assert prefix.startswith("$1$") and len(prefix) == 3 + salt_length and len(checksum) == 22, hash_
    user_id = add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_))
    assert_password_checks(zitadel, tessera, user_id, email, password)


PORTABLE = [
    ("$P$", "B"),  # WordPress: 2^13 rounds
    ("$H$", "9"),  # phpBB 3: 2^11
    ("$S$", "D"),  # Drupal 7: 2^15
    ("$P$", "5"),  # the fewest rounds phpass makes or reads, 2^7
    ("$P$", "G"),  # the most the server reads, 2^18
]


@pytest.mark.parametrize(("prefix", "rounds"), PORTABLE, ids=[f"{p.strip('$')}{r}" for p, r in PORTABLE])
def test_add_human_user_with_a_phpass_portable_hash_signs_in_with_its_password(zitadel, tessera, prefix, rounds):
    email, password = unique_email("phpass"), f"phpass {secrets.token_hex(4)}"
    hash_ = phpass_hash(password, prefix, rounds)
    assert len(hash_) == (55 if prefix == "$S$" else 34), hash_
    user_id = add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_))
    assert_password_checks(zitadel, tessera, user_id, email, password)


@pytest.mark.parametrize("variant", ["prefix", "suffix"])
def test_add_human_user_with_a_passwap_md5salted_hash_signs_in_with_its_password(zitadel, tessera, variant):
    email, password = unique_email("md5salted"), f"md5salted {secrets.token_hex(4)}"
    salt = base64.b64encode(secrets.token_bytes(8)).decode()  # as text, like passwap's "c2FsdA=="
    hash_ = md5salted(password, variant, salt)
    user_id = add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_))
    assert_password_checks(zitadel, tessera, user_id, email, password)


def test_add_human_user_with_a_bare_hex_md5_signs_in_with_its_password(zitadel, tessera):
    email, password = unique_email("md5plain"), f"md5plain {secrets.token_hex(4)}"
    hash_ = md5plain(password)
    assert len(hash_) == 32
    user_id = add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_))
    assert_password_checks(zitadel, tessera, user_id, email, password)


def _unreadable_legacy_hashes() -> dict[str, str]:
    password = f"unread {secrets.token_hex(4)}"
    salt = "".join(secrets.choice(ITOA64) for _ in range(8))
    # The rounds are never run: the hash part is any 22 characters.
    checksum = "".join(secrets.choice(ITOA64) for _ in range(22))
    drupal = phpass_hash(password, "$S$", "5")
    return {
        "P-rounds-Z": f"$P$Z{salt}{checksum}",  # 2^37
        "P-rounds-H": f"$P$H{salt}{checksum}",  # 2^19, one past the most read
        "S-one-short": drupal[:-1],
        "md5salted-middle": md5salted(password, "prefix", "c2FsdA==").replace("-prefix$", "-middle$"),
    }


@pytest.mark.parametrize("name", list(_unreadable_legacy_hashes()))
def test_add_human_user_with_an_unreadable_legacy_hash_is_invalid_argument_and_adds_no_user(zitadel, name):
    hash_ = _unreadable_legacy_hashes()[name]
    email = unique_email("unreadable")
    expect_error(
        lambda: add_human(zitadel, email, hashed_password=UserServiceHashedPassword(hash=hash_)),
        400, "invalid_argument", HASH_NOT_SUPPORTED, "USER-JDk4t",
    )
    assert users_with_email(zitadel, email) == []
    user_id = add_human(zitadel, email, password=UserServicePassword(password=PASSWORD))
    assert users_with_email(zitadel, email) == [user_id]


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


def update_hash(zitadel: Zitadel, user_id: str, hash_: str):
    """UpdateHumanUser with `hash_` as the new password's hash, the current one given."""
    return zitadel.users.update_human_user(
        UserServiceUpdateHumanUserRequest(
            user_id=user_id,
            password=UserServiceSetPassword(
                hashed_password=UserServiceHashedPassword(hash=hash_), current_password=PASSWORD
            ),
        )
    )


def test_update_human_user_sets_a_hashed_password(zitadel, tessera):
    email = unique_email("rehashed")
    user_id = add_human(zitadel, email, password=UserServicePassword(password=PASSWORD))

    def update(hash_: str):
        return update_hash(zitadel, user_id, hash_)

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


LEGACY_UPDATES = {
    "S": lambda password: phpass_hash(password, "$S$", "7"),
    "md5salted-suffix": lambda password: md5salted(password, "suffix", base64.b64encode(secrets.token_bytes(8)).decode()),
    "md5plain": md5plain,
}


@pytest.mark.parametrize("form", list(LEGACY_UPDATES))
def test_update_human_user_sets_a_legacy_md5_or_phpass_hash(zitadel, tessera, form):
    email = unique_email("legacy-update")
    user_id = add_human(zitadel, email, password=UserServicePassword(password=PASSWORD))

    def update(hash_: str):
        return update_hash(zitadel, user_id, hash_)

    # A phpass string with 2^37 rounds changes nothing: the old password still checks.
    too_costly = "$P$Z" + "".join(secrets.choice(ITOA64) for _ in range(30))
    expect_error(lambda: update(too_costly), 400, "invalid_argument", HASH_NOT_SUPPORTED, "USER-oz74onzvqr")
    assert_password_checks(zitadel, tessera, user_id, email, PASSWORD)

    password = f"legacy {secrets.token_hex(4)}"
    update(LEGACY_UPDATES[form](password))
    assert it_error(sign_in(tessera, email, PASSWORD)) == "INVALID_PASSWORD"
    assert_password_checks(zitadel, tessera, user_id, email, password)
