// The SMTP sink the ZITADEL client tests point the server at (TESSERA_SMTP_URL): a plain SMTP
// server on 127.0.0.1 written with node:net, speaking SMTP as a local relay does, that accepts
// every message and keeps it with its headers, its Subject decoded (RFC 2047) and its text/plain
// and text/html parts decoded by hand (base64, quoted-printable, 7bit/8bit, nested multiparts).

import assert from 'node:assert/strict';
import { createServer } from 'node:net';

/** A MIME entity's headers (names lower-cased, folded lines joined) and its body. */
function mimeEntity(raw) {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: at < 0 ? '' : raw.slice(at + 4) };
}

/** The leaf parts of a MIME entity (latin1 string) as { type, text }, transfer encoding decoded (UTF-8). */
function mimeParts(raw) {
  const { headers, body } = mimeEntity(raw);
  const type = headers['content-type'] ?? 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    assert.ok(boundary, `a boundary: ${type}`);
    // The preamble comes before the first delimiter, "--" and the epilogue after the last.
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .flatMap((part) => mimeParts(part.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let bytes;
  if (encoding === 'base64') {
    bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } else if (encoding === 'quoted-printable') {
    // Soft line breaks go, then each =XX is its byte.
    const unwrapped = body.replace(/=\r\n/g, '');
    bytes = Buffer.from(unwrapped.replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  } else {
    bytes = Buffer.from(body, 'latin1');
  }
  return [{ type: type.split(';')[0].trim().toLowerCase(), text: bytes.toString('utf8').replaceAll('\r\n', '\n') }];
}

/**
 * A header's value (latin1, as received) with its RFC 2047 encoded-words ("=?UTF-8?B?…?=",
 * "=?UTF-8?Q?…?=") decoded; the white space between two adjacent encoded-words goes.
 */
export function decodeHeader(value) {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  const decoded = value.replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?[^?]+\?[BbQq]\?[^?]*\?=)/g, '$1');
  const bytes = [];
  let last = 0;
  for (const match of decoded.matchAll(word)) {
    bytes.push(Buffer.from(decoded.slice(last, match.index), 'latin1'));
    const [, charset, encoding, text] = match;
    assert.match(charset, /^utf-?8$/i, `a UTF-8 encoded-word: ${match[0]}`);
    if (encoding.toUpperCase() === 'B') {
      bytes.push(Buffer.from(text, 'base64'));
    } else {
      // Q: "_" is a space, each =XX its byte.
      const q = text.replaceAll('_', ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      bytes.push(Buffer.from(q, 'latin1'));
    }
    last = match.index + match[0].length;
  }
  bytes.push(Buffer.from(decoded.slice(last), 'latin1'));
  return Buffer.concat(bytes).toString('utf8');
}

/**
 * A plain SMTP server on 127.0.0.1 that accepts every message and keeps it: { mailFrom,
 * rcptTo, headers, subject, text, html, raw }: the top-level headers (names lower-cased), the
 * Subject decoded, the text/plain and text/html parts decoded.
 */
export class SmtpSink {
  constructor() {
    this.messages = [];
    this.waiters = new Set();
    this.sockets = new Set();
    this.server = createServer((socket) => this.serve(socket));
  }

  /** Listens on a free port; resolves to the smtp:// URL. */
  start() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve(`smtp://127.0.0.1:${this.server.address().port}`));
    });
  }

  stop() {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  serve(socket) {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('latin1');
    const reply = (line) => socket.write(`${line}\r\n`);
    let envelope = { mailFrom: null, rcptTo: [] };
    let data = null; // the lines of DATA while it is being received
    let buffered = '';
    reply('220 sink ESMTP');
    socket.on('data', (chunk) => {
      buffered += chunk;
      let end;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (data) {
          if (line === '.') {
            this.received({ ...envelope, raw: data.join('\r\n') });
            envelope = { mailFrom: null, rcptTo: [] };
            data = null;
            reply('250 OK: queued');
          } else {
            // Dot-stuffing (RFC 5321 4.5.2).
            data.push(line.startsWith('.') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          reply('250-sink');
          reply('250 8BITMIME');
        } else if (verb === 'HELO' || verb === 'NOOP') {
          reply('250 OK');
        } else if (verb === 'RSET') {
          envelope = { mailFrom: null, rcptTo: [] };
          reply('250 OK');
        } else if (verb === 'MAIL') {
          envelope.mailFrom = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 OK');
        } else if (verb === 'RCPT') {
          envelope.rcptTo.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 OK');
        } else if (verb === 'DATA') {
          data = [];
          reply('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 Bye');
          socket.end();
        } else {
          reply('502 Command not implemented');
        }
      }
    });
  }

  received({ mailFrom, rcptTo, raw }) {
    const parts = mimeParts(raw);
    const part = (type) => parts.find((p) => p.type === type)?.text ?? '';
    const { headers } = mimeEntity(raw);
    this.messages.push({
      mailFrom,
      rcptTo,
      raw,
      headers,
      subject: decodeHeader(headers.subject ?? ''),
      text: part('text/plain'),
      html: part('text/html'),
    });
    for (const wake of this.waiters) wake();
  }

  /** The next message to `to` (taken from the sink), waiting up to `timeoutMs` for it. */
  async next(to, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.messages.findIndex((message) => message.rcptTo.includes(to));
      if (at >= 0) return this.messages.splice(at, 1)[0];
      const left = deadline - Date.now();
      assert.ok(left > 0, `no email to ${to} within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** The messages to `to` received so far and not taken. */
  pending(to) {
    return this.messages.filter((message) => message.rcptTo.includes(to));
  }
}
