"""firebase-admin (Python) `import_users` with another system's password hashes: each user signs
in with their own password (`accounts:signInWithPassword`), once with the imported hash and
again after the server has rehashed it. Every hash here is made with Python's hashlib, hmac and
crypt, never with the server's code, in the forms README.md's "Importing password hashes"
describes."""

import hashlib
import hmac
import secrets
import uuid
import warnings

import pytest
import requests
from firebase_admin import auth, exceptions

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.11 and 3.12; gone in 3.13
        import crypt
except ImportError:
    crypt = None

needs_crypt = pytest.mark.skipif(crypt is None, reason="bcrypt hashes come from the crypt module")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sign_in(base: str, email: str, password: str) -> requests.Response:
    """`accounts:signInWithPassword` with an API key, as a Firebase client app calls it."""
    return requests.post(
        f"{base}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any",
        json={"email": email, "password": password, "returnSecureToken": True},
        timeout=30,
    )


def assert_signs_in_with(base: str, uid: str, email: str, password: str) -> None:
    """A wrong password is INVALID_PASSWORD; the right one signs in, with the imported hash and
    then with the server's own after the rehash; the wrong one is still INVALID_PASSWORD."""
    wrong = sign_in(base, email, password + "!")
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"]["message"] == "INVALID_PASSWORD"
    for attempt in ("first", "after the rehash"):
        reply = sign_in(base, email, password)
        assert reply.status_code == 200, f"{attempt}: {reply.text}"
        assert reply.json()["localId"] == uid
        assert reply.json()["email"] == email
        assert reply.json()["idToken"]
    wrong = sign_in(base, email, password + "!")
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"]["message"] == "INVALID_PASSWORD"


def bcrypt_hash(password: str) -> bytes:
    """A bcrypt string of cost 4 (`rounds` is 2**cost)."""
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)).encode()


def md5_hash(password: bytes, salt: bytes, rounds: int) -> bytes:
    """x = md5(salt‖password), then `rounds` times x = md5(x‖password); x in lowercase hex."""
    x = hashlib.md5(salt + password).digest()
    for _ in range(rounds):
        x = hashlib.md5(x + password).digest()
    return x.hex().encode()


def sha512_hash(password: bytes, salt: bytes, rounds: int) -> bytes:
    """sha512(salt‖password), then sha512 of the digest until it ran `rounds` times."""
    x = hashlib.sha512(salt + password).digest()
    for _ in range(rounds - 1):
        x = hashlib.sha512(x).digest()
    return x


HMAC_KEY = secrets.token_bytes(32)

# The SDK's hash option for each algorithm, and a function of (password, salt) giving the hash.
ALGORITHMS = [
    pytest.param(
        auth.UserImportHash.bcrypt(),
        lambda password, salt: bcrypt_hash(password.decode()),
        id="BCRYPT",
        marks=needs_crypt,
    ),
    pytest.param(auth.UserImportHash.md5(rounds=2), lambda password, salt: md5_hash(password, salt, 2), id="MD5"),
    pytest.param(
        auth.UserImportHash.sha512(rounds=7), lambda password, salt: sha512_hash(password, salt, 7), id="SHA512"
    ),
    pytest.param(
        auth.UserImportHash.hmac_sha1(HMAC_KEY),
        lambda password, salt: hmac.new(HMAC_KEY, password + salt, hashlib.sha1).digest(),
        id="HMAC_SHA1",
    ),
    pytest.param(
        auth.UserImportHash.pbkdf_sha1(rounds=4000),
        lambda password, salt: hashlib.pbkdf2_hmac("sha1", password, salt, 4000, dklen=20),
        id="PBKDF_SHA1",
    ),
]


@pytest.mark.parametrize(("hash_alg", "make"), ALGORITHMS)
def test_imported_hash_signs_the_user_in_and_again_after_the_rehash(firebase_app, tessera, hash_alg, make):
    password = f"pw {uuid.uuid4().hex[:8]}"
    salt = secrets.token_bytes(12)
    uid, email = unique("hashed"), f"{unique('hashed')}@example.com"
    record = auth.ImportUserRecord(uid=uid, email=email, password_hash=make(password.encode(), salt), password_salt=salt)

    result = auth.import_users([record], hash_alg=hash_alg, app=firebase_app)
    assert (result.success_count, result.failure_count) == (1, 0), [(e.index, e.reason) for e in result.errors]
    assert result.errors == []
    user = auth.get_user(uid, app=firebase_app)
    assert user.email == email
    assert [p.provider_id for p in user.provider_data] == ["password"]

    assert_signs_in_with(tessera, uid, email, password)


@pytest.mark.parametrize(
    ("hash_alg", "code"),
    [
        # The SDK takes 0 rounds for PBKDF; the server, as Firebase, wants at least one.
        pytest.param(auth.UserImportHash.pbkdf_sha1(rounds=0), "INVALID_HASH_ROUNDS", id="PBKDF_SHA1-0-rounds"),
        pytest.param(auth.UserImportHash.pbkdf2_sha256(rounds=0), "INVALID_HASH_ROUNDS", id="PBKDF2_SHA256-0-rounds"),
        # The SDK checks standard scrypt's parameters for being non-negative only.
        pytest.param(
            auth.UserImportHash.standard_scrypt(memory_cost=1024, parallelization=17, block_size=8, derived_key_length=32),
            "INVALID_HASH_PARALLELIZATION",
            id="STANDARD_SCRYPT-parallelization-17",
        ),
        pytest.param(
            auth.UserImportHash.standard_scrypt(memory_cost=1000, parallelization=1, block_size=8, derived_key_length=32),
            "INVALID_HASH_MEMORY_COST",
            id="STANDARD_SCRYPT-N-not-a-power-of-two",
        ),
        pytest.param(
            auth.UserImportHash.standard_scrypt(memory_cost=1024, parallelization=1, block_size=0, derived_key_length=32),
            "INVALID_HASH_BLOCK_SIZE",
            id="STANDARD_SCRYPT-block-size-0",
        ),
        pytest.param(
            auth.UserImportHash.standard_scrypt(memory_cost=1024, parallelization=1, block_size=8, derived_key_length=0),
            "INVALID_HASH_DERIVED_KEY_LENGTH",
            id="STANDARD_SCRYPT-dk-len-0",
        ),
    ],
)
def test_a_parameter_out_of_range_refuses_the_whole_import(firebase_app, hash_alg, code):
    hashed, plain = unique("refused"), unique("refused")
    records = [
        auth.ImportUserRecord(uid=hashed, password_hash=b"\x01" * 32, password_salt=b"salt"),
        auth.ImportUserRecord(uid=plain, email=f"{plain}@example.com"),
    ]
    with pytest.raises(exceptions.InvalidArgumentError) as refused:
        auth.import_users(records, hash_alg=hash_alg, app=firebase_app)
    assert f"({code})" in str(refused.value)
    for uid in (hashed, plain):
        with pytest.raises(auth.UserNotFoundError):
            auth.get_user(uid, app=firebase_app)


def test_the_sdk_itself_refuses_parameters_it_knows_to_be_out_of_range():
    with pytest.raises(ValueError):
        auth.UserImportHash.sha512(rounds=0)
    with pytest.raises(ValueError):
        auth.UserImportHash.md5(rounds=8193)
    with pytest.raises(ValueError):
        auth.UserImportHash.scrypt(key=b"key", rounds=9, memory_cost=14)
    with pytest.raises(ValueError):
        auth.UserImportHash.pbkdf_sha1(rounds=120001)


@needs_crypt
def test_an_unreadable_hash_refuses_its_user_alone(firebase_app, tessera):
    password = f"pw {uuid.uuid4().hex[:8]}"
    good = bcrypt_hash(password)
    # A bcrypt string of cost 17, past the server's bound of 16 (its text need not check out:
    # the cost alone refuses it).
    costly = good.replace(b"$04$", b"$17$", 1)
    assert costly.startswith(b"$2b$17$")
    uids = [unique("bad-hash"), unique("costly"), unique("bcrypt")]
    emails = [f"{uid}@example.com" for uid in uids]
    records = [
        auth.ImportUserRecord(uid=uids[0], email=emails[0], password_hash=b"not a bcrypt hash"),
        auth.ImportUserRecord(uid=uids[1], email=emails[1], password_hash=costly),
        auth.ImportUserRecord(uid=uids[2], email=emails[2], password_hash=good),
    ]

    result = auth.import_users(records, hash_alg=auth.UserImportHash.bcrypt(), app=firebase_app)
    assert (result.success_count, result.failure_count) == (1, 2)
    assert [(e.index, e.reason) for e in result.errors] == [(0, "INVALID_PASSWORD_HASH"), (1, "INVALID_PASSWORD_HASH")]
    for uid in uids[:2]:
        with pytest.raises(auth.UserNotFoundError):
            auth.get_user(uid, app=firebase_app)
    assert_signs_in_with(tessera, uids[2], emails[2], password)
