"""A real SMTP server for Tessera's integration tests (aiosmtpd), so the email sender is
tested against an independent implementation of the protocol rather than a fake.

Usage: smtp_sink.py [--user USER --password PASSWORD]
                    [--tls {starttls,implicit} --cert CERT.pem --key KEY.pem]

Binds 127.0.0.1 on a free port and prints the port on the first line of stdout. Then prints
one JSON line per accepted message:

    {"mail_from", "rcpt_tos", "data", "auth_login", "tls", "from", "to", "subject", "text",
     "html"}

`data` is the raw message; the rest is parsed here with Python's own email package, an
independent MIME decoder; `tls` is the TLS version the message came over (null for plain
TCP). With --user, AUTH (PLAIN or LOGIN) is required; without --tls it is offered over plain
TCP, so a test needs no certificates. With --tls starttls, STARTTLS is offered and required
before any other command but EHLO, and AUTH only after it; with --tls implicit, connections
are TLS from the first byte (SMTPS). Recipients whose local part is `reject` get a permanent
550, `defer` a temporary 451, so senders' error handling can be tested.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import ssl
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
        record = describe(envelope, session, raw)
        # After STARTTLS, server.transport is the TLS transport; with SMTPS it always was.
        tls = server.transport.get_extra_info("ssl_object")
        record["tls"] = tls.version() if tls is not None else None
        print(json.dumps(record), flush=True)
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


def server_context(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    return context


async def serve(args):
    context = server_context(args) if args.tls is not None else None
    options = {"hostname": "sink.test"}
    if args.tls == "starttls":
        options.update(tls_context=context, require_starttls=True)
    if args.user is not None:
        options.update(
            authenticator=authenticator(args.user, args.password),
            auth_required=True,
            # aiosmtpd only knows about TLS it started itself (STARTTLS): with SMTPS, or
            # without TLS, it must be told to offer AUTH on a connection it thinks is plain.
            auth_require_tls=args.tls == "starttls",
        )

    def protocol():
        return SMTP(Recorder(), **options)

    server = await asyncio.get_running_loop().create_server(
        protocol, "127.0.0.1", 0, ssl=context if args.tls == "implicit" else None
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    # AUTH on connections aiosmtpd takes for plain (no TLS, or SMTPS) is intended here, and
    # aiosmtpd warns about it on every connection.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert", help="PEM certificate (chain) for --tls")
    parser.add_argument("--key", help="PEM private key for --tls")
    args = parser.parse_args()
    if args.tls is not None and (args.cert is None or args.key is None):
        parser.error("--tls needs --cert and --key")
    asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
