// Phone numbers as the first factor, as firebase-admin sees and changes them. The JS SDK's phone
// sign-in needs a browser (its Node build has no PhoneAuthProvider.credential; see
// clients/browser/test/phone-sign-in.test.mjs), so the end-user calls here are plain HTTP, as
// that SDK sends them: accounts:sendVerificationCode, then accounts:signInWithPhoneNumber with
// the code from the emulator's verificationCodes hook.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeJwt, uniquePhone, useTessera } from './server.mjs';

const tessera = useTessera();

const v1 = (method) => `/identitytoolkit.googleapis.com/v1/accounts:${method}?key=dev-api-key`;

/** Texts a code to `phoneNumber` and signs in with it; resolves to the sign-in's answer. */
async function phoneSignIn(phoneNumber) {
  const { sessionInfo } = await tessera.rest(v1('sendVerificationCode'), {
    method: 'POST',
    body: { phoneNumber, recaptchaToken: 'test-token' },
  });
  const codes = await tessera.rest('/emulator/v1/projects/demo-project/verificationCodes');
  const { code } = codes.verificationCodes.find((entry) => entry.sessionInfo === sessionInfo);
  return tessera.rest(v1('signInWithPhoneNumber'), { method: 'POST', body: { sessionInfo, code } });
}

test('a number signs up a user that getUserByPhoneNumber finds, with the phone provider', async () => {
  const phoneNumber = uniquePhone();
  await assert.rejects(tessera.admin.getUserByPhoneNumber(phoneNumber), { code: 'auth/user-not-found' });
  const up = await phoneSignIn(phoneNumber);
  assert.equal(up.isNewUser, true);
  assert.equal(decodeJwt(up.idToken).payload.firebase.sign_in_provider, 'phone');

  const user = await tessera.admin.getUserByPhoneNumber(phoneNumber);
  assert.equal(user.uid, up.localId);
  assert.equal(user.phoneNumber, phoneNumber);
  assert.equal(user.email, undefined);
  assert.deepEqual(
    user.providerData.map(({ providerId, uid, phoneNumber: shown }) => ({ providerId, uid, shown })),
    [{ providerId: 'phone', uid: phoneNumber, shown: phoneNumber }],
  );
  const { users } = await tessera.admin.getUsers([{ phoneNumber }]);
  assert.deepEqual(users.map((found) => found.uid), [up.localId]);
});

test('a user createUser gave a number signs in with it; updateUser takes the number away', async () => {
  const phoneNumber = uniquePhone();
  const created = await tessera.admin.createUser({ phoneNumber, displayName: 'Phone user' });
  const signedIn = await phoneSignIn(phoneNumber);
  assert.equal(signedIn.localId, created.uid);
  assert.equal(signedIn.isNewUser, false);

  const updated = await tessera.admin.updateUser(created.uid, { phoneNumber: null });
  assert.equal(updated.phoneNumber, undefined);
  assert.deepEqual(updated.providerData, []);
  await assert.rejects(tessera.admin.getUserByPhoneNumber(phoneNumber), { code: 'auth/user-not-found' });
  // The number is free again: it signs a new user up.
  const again = await phoneSignIn(phoneNumber);
  assert.equal(again.isNewUser, true);
  assert.notEqual(again.localId, created.uid);
});
