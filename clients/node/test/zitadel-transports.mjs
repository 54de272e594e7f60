// What the ZITADEL client tests share: the transports @zitadel/client offers (gRPC over HTTP/2
// without TLS, and Connect over HTTP/1.1 as JSON and as binary), the checks of ZITADEL's errors
// as @zitadel/client and @zitadel/node report them, and machine users and ID tokens to call with.

import assert from 'node:assert/strict';

import { Code, ConnectError } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { NewAuthorizationBearerInterceptor } from '@zitadel/client';
import { createServerTransport } from '@zitadel/client/node';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import { ClientError, Status } from 'nice-grpc';

import { hex, PASSWORD } from './server.mjs';

/** The transports to `tessera` by name, each taking a token; the server's URL is read when one is built. */
export const zitadelTransports = (tessera) => ({
  'gRPC (h2c)': (token) => createServerTransport(token, { baseUrl: tessera.baseUrl, httpVersion: '2' }),
  // connect-node defaults to the binary format; JSON has to be asked for.
  'Connect JSON (HTTP/1.1)': (token) =>
    createConnectTransport({
      baseUrl: tessera.baseUrl,
      httpVersion: '1.1',
      useBinaryFormat: false,
      interceptors: [NewAuthorizationBearerInterceptor(token)],
    }),
  'Connect binary (HTTP/1.1)': (token) =>
    createConnectTransport({
      baseUrl: tessera.baseUrl,
      httpVersion: '1.1',
      useBinaryFormat: true,
      interceptors: [NewAuthorizationBearerInterceptor(token)],
    }),
});

/** Asserts that `promise` rejects with ZITADEL's error: the code, "<message> (<id>)" and its ErrorDetail. */
export async function assertZitadelError(promise, code, message, id) {
  const error = await promise.then(
    (response) => assert.fail(`expected ${Code[code]}, got a ${response.$typeName}`),
    (e) => e,
  );
  assert.ok(error instanceof ConnectError, String(error));
  assert.equal(error.code, code, `${Code[error.code]}: ${error.rawMessage}`);
  assert.equal(error.rawMessage, `${message} (${id})`);
  const details = error.findDetails(ErrorDetailSchema);
  assert.deepEqual(
    details.map((detail) => ({ id: detail.id, message: detail.message })),
    [{ id, message }],
  );
  return error;
}

/**
 * Asserts that a @zitadel/node call rejects with ZITADEL's error as grpc-js and nice-grpc hand it
 * over: the status and "<message> (<id>)".
 */
export async function assertGrpcError(promise, status, message, id) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.code, status, `${Status[error.code]}: ${error.details}`);
    assert.equal(error.details, `${message} (${id})`);
    return true;
  });
}

/** The id of a new machine user of `org` with ZITADEL's `role`, and its PAT, from `tessera admin`. */
export function machineUser(tessera, org, role) {
  const id = tessera.tesseraAdmin('create-machine-user', org, `${role.toLowerCase()}-${hex()}`, '--role', role);
  assert.match(id, /^\d+$/);
  return { id, pat: tessera.tesseraAdmin('create-pat', id) };
}

/** Identity Toolkit's accounts:signInWithPassword: the user's ID token. */
export async function idToken(tessera, email) {
  const path = '/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=dev-api-key';
  const { idToken: token } = await tessera.rest(path, {
    method: 'POST',
    body: { email, password: PASSWORD, returnSecureToken: true },
  });
  assert.ok(token, 'idToken');
  return token;
}
