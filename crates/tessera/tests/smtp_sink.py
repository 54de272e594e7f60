"""A real SMTP server for Tessera's integration tests (aiosmtpd), so the email sender is
tested against an independent implementation of the protocol rather than a fake.

Usage: smtp_sink.py [--user USER --password PASSWORD]

Binds 127.0.0.1 on a free port and prints the port on the first line of stdout. Then prints
one JSON line per accepted message:

    {"mail_from", "rcpt_tos", "data", "auth_login", "from", "to", "subject", "text", "html"}

`data` is the raw message; the rest is parsed here with Python's own email package, an
independent MIME decoder. With --user, AUTH (PLAIN or LOGIN) is required and offered over
plain TCP, so a test needs no certificates. Recipients whose local part is `reject` get a
permanent 550, `defer` a temporary 451, so senders' error handling can be tested.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "reject":
            return "550 5.1.1 No such mailbox here"
        if local == "defer":
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        print(json.dumps(describe(envelope, session, raw)), flush=True)
        return "250 OK: queued"


def body(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def describe(envelope, session, raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "data": raw.decode("utf-8", errors="replace"),
        "auth_login": login.decode() if login is not None else None,
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "text": body(message, "plain"),
        "html": body(message, "html"),
    }


def authenticator(user, password):
    expected = LoginPassword(user.encode(), password.encode())

    def check(server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=auth_data == expected, handled=False, auth_data=auth_data)

    return check


async def serve(args):
    def protocol():
        if args.user is None:
            return SMTP(Recorder(), hostname="sink.test")
        return SMTP(
            Recorder(),
            hostname="sink.test",
            authenticator=authenticator(args.user, args.password),
            auth_required=True,
            auth_require_tls=False,
        )

    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    # AUTH without TLS is the point here, and aiosmtpd warns about it on every connection.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
