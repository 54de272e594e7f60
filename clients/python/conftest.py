"""Starts one real `tessera serve` for the session and hands its base URL to the tests.

The binary is the one cargo built (`target/debug/tessera`, or `TESSERA_BIN`). With
`TEST_POSTGRES_URL` set, the server runs on a fresh PostgreSQL database instead of SQLite.

A test module that reads email gets a real SMTP server in this process (`mail_sink`) and a
dev-mode server of its own that sends its mail there (`mailing_tessera`).
"""

import base64
import email
import email.message
import email.policy
import json
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "demo-project"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _database_args(data_dir: Path) -> list[str]:
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        return []
    name = f"tessera_py_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True)
    return ["--database-url", f"{server.rsplit('/', 1)[0]}/{name}"]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tessera")


def _binary() -> str:
    return os.environ.get("TESSERA_BIN", str(ROOT / "target" / "debug" / "tessera"))


def _env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without its `TESSERA_*` variables, with `settings` as
    `TESSERA_<NAME>` variables instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(RUST_LOG="info", NO_COLOR="1")
    env.update({f"TESSERA_{name.upper()}": value for name, value in settings.items()})
    return env


def _serve(data_dir: Path, database_args: list[str] | None = None, **settings: str):
    """Runs `tessera serve` on a free port until the generator is closed; yields its base URL.
    `settings` become `TESSERA_<NAME>` environment variables. `database_args` (default: a
    fresh database, see `_database_args`) name the database to serve."""
    if database_args is None:
        database_args = _database_args(data_dir)
    args = [_binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), *database_args]
    env = _env(settings)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    base = None
    for line in proc.stdout:
        match = re.search(r"tessera listening addr=(\S+)", ANSI.sub("", line))
        if match:
            base = f"http://{match.group(1)}"
            break
    if base is None:
        proc.kill()
        raise RuntimeError("tessera did not start")
    yield base
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


@pytest.fixture(scope="session")
def tessera(data_dir) -> str:
    yield from _serve(data_dir)


@pytest.fixture(scope="session")
def tessera_es256(tmp_path_factory) -> str:
    """A second server, on its own store, that signs ID tokens with ES256."""
    yield from _serve(tmp_path_factory.mktemp("tessera-es256"), token_algorithm="ES256")


class MailSink:
    """An SMTP server (aiosmtpd) on a free loopback port that keeps every message it accepts;
    `next` hands over the next one, parsed by Python's email package."""

    def __init__(self):
        self.received: queue.Queue = queue.Queue()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        self.received.put((list(envelope.rcpt_tos), email.message_from_bytes(raw, policy=email.policy.default)))
        return "250 OK: queued"

    def next(self, timeout: float = 20) -> tuple[list[str], email.message.EmailMessage]:
        """The next message's recipients and the message."""
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no email within {timeout} s")


@pytest.fixture(scope="module")
def mail_sink():
    """The test module's own `MailSink`, running."""
    sink = MailSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="module")
def mailing_tessera(tmp_path_factory, mail_sink):
    """A dev-mode server of the test module's own (own store, own database) whose email goes to
    `mail_sink` (dev mode's outbox otherwise keeps messages in the database, where no API shows
    them): its base URL (`base`) and its administrator's zitadel-client (`zitadel`)."""
    from zitadel_client import Zitadel

    data_dir = tmp_path_factory.mktemp("tessera-mail")
    server = _serve(data_dir, smtp_url=f"smtp://127.0.0.1:{mail_sink.port}")
    base = next(server)
    admin_pat = (data_dir / "admin.pat").read_text().strip()
    yield SimpleNamespace(base=base, zitadel=Zitadel.with_access_token(base, admin_pat))
    next(server, None)


@pytest.fixture(scope="module")
def own_tessera(tmp_path_factory):
    """A dev-mode server of the test module's own (own store, own database), for a module that
    changes the project's configuration, which the session's `tessera` shares with every other
    module: its base URL (`base`), its administrator's PAT (`admin_pat`) and zitadel-client
    (`zitadel`), and `admin(*args)`, `tessera admin ARGS…` on its store (for what no API makes:
    machine users and their PATs), which answers its one line of output."""
    from zitadel_client import Zitadel

    data_dir = tmp_path_factory.mktemp("tessera-own")
    database_args = _database_args(data_dir)

    def admin(*args: str) -> str:
        done = subprocess.run(
            [_binary(), "admin", "--data-dir", str(data_dir), *database_args, *args],
            env={**_env({}), "RUST_LOG": "warn"},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(done.stdout.splitlines()) <= 1, done.stdout
        return done.stdout.strip()

    server = _serve(data_dir, database_args)
    base = next(server)
    admin_pat = (data_dir / "admin.pat").read_text().strip()
    yield SimpleNamespace(base=base, admin_pat=admin_pat, zitadel=Zitadel.with_access_token(base, admin_pat), admin=admin)
    next(server, None)


FIXTURES = ROOT / "crates" / "tessera" / "tests" / "api" / "fixtures"
CUSTOM_TOKEN_SIGNER = f"backend@{PROJECT}.iam.gserviceaccount.com"


@dataclass
class ProductionServer:
    base: str
    api_key: str
    admin_token: str


@pytest.fixture(scope="session")
def tessera_production(tmp_path_factory):
    """A third server, in production mode on its own store: an explicit master key, a webhook
    SMS sender and an SMTP server (neither reachable: nothing here sends), the project, an API
    key and an admin bearer token made with `tessera admin`, and `custom_token_signers` naming
    CUSTOM_TOKEN_SIGNER with the test fixture's public key."""
    data_dir = tmp_path_factory.mktemp("tessera-production")
    master_key = data_dir / "master.key"
    fd = os.open(master_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"id": f"mk-{secrets.token_hex(4)}", "key": base64.b64encode(secrets.token_bytes(32)).decode()}, f)
    config = data_dir / "tessera.toml"
    config.write_text(
        'mode = "production"\n'
        "\n"
        "[[custom_token_signers]]\n"
        f"service_account = {json.dumps(CUSTOM_TOKEN_SIGNER)}\n"
        f"public_key_file = {json.dumps(str(FIXTURES / 'custom_token_signer.pub.pem'))}\n"
    )
    settings = {
        "config": str(config),
        "master_key_file": str(master_key),
        "sms_provider": "webhook",
        "sms_webhook_url": "http://127.0.0.1:9/sms",
        "sms_webhook_secret": "unused",
        "smtp_url": "smtp://127.0.0.1:9",
    }
    database_args = _database_args(data_dir)

    def admin(*args: str) -> str:
        """`tessera admin ARGS…` on the server's store; its one line of output (the log goes
        to stderr)."""
        done = subprocess.run(
            [_binary(), "admin", "--data-dir", str(data_dir), *database_args, *args],
            env=_env(settings),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(done.stdout.splitlines()) <= 1, done.stdout
        return done.stdout.strip()

    admin("create-project", PROJECT)
    api_key = admin("create-api-key", PROJECT)
    admin_token = admin("create-admin-token")
    server = _serve(data_dir, database_args, **settings)
    yield ProductionServer(base=next(server), api_key=api_key, admin_token=admin_token)
    next(server, None)


@pytest.fixture(scope="session")
def firebase_app(tessera):
    """firebase-admin pointed at Tessera exactly as at the Firebase Auth emulator."""
    import firebase_admin

    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = tessera.removeprefix("http://")
    app = firebase_admin.initialize_app(options={"projectId": PROJECT}, name=f"tessera-{uuid.uuid4().hex}")
    yield app
    firebase_admin.delete_app(app)


@pytest.fixture(scope="session")
def admin_pat(tessera, data_dir) -> str:
    """The ZITADEL administrator PAT that dev mode writes to `<data-dir>/admin.pat`."""
    return (data_dir / "admin.pat").read_text().strip()


@pytest.fixture(params=["prefixed", "bare"])
def toolkit(request, tessera):
    """google-api-python-client with its bundled identitytoolkit v1 discovery document, pointed
    at Tessera under both the emulator layout and the bare one."""
    endpoint = f"{tessera}/identitytoolkit.googleapis.com/" if request.param == "prefixed" else tessera
    return build(
        "identitytoolkit",
        "v1",
        developerKey="any-key",
        client_options={"api_endpoint": endpoint},
        static_discovery=True,
    )


def error_message(e: HttpError) -> str:
    """The Identity Toolkit message of a discovery client's error."""
    return json.loads(e.content)["error"]["message"]
