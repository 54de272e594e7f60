// Firebase's emailed action links (accounts:sendOobCode): the JS SDK's sendEmailVerification,
// sendPasswordResetEmail and verifyBeforeUpdateEmail, whose codes the tests read from the
// emulator's oobCodes list, as Firebase emulator tests do; firebase-admin's generate…Link; and
// the SDK's checkActionCode, applyActionCode, verifyPasswordResetCode and confirmPasswordReset.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyActionCode,
  checkActionCode,
  confirmPasswordReset,
  sendEmailVerification,
  sendPasswordResetEmail,
  verifyBeforeUpdateEmail,
  verifyPasswordResetCode,
} from 'firebase/auth';

import { PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();
const signIn = tessera.signIn;
const { oobCode, oobEntries } = tessera;



test('sendEmailVerification: checkActionCode, then applyActionCode verifies the address, once', async () => {
  const { auth, user, email } = await tessera.signUp();
  assert.equal(user.emailVerified, false);

  await sendEmailVerification(user);
  const code = await oobCode(email, 'VERIFY_EMAIL', 'verifyEmail');

  const info = await checkActionCode(auth, code);
  assert.equal(info.operation, 'VERIFY_EMAIL');
  assert.equal(info.data.email, email);
  assert.equal(info.data.previousEmail, null);
  // Checking does not use the code up.
  assert.equal((await oobEntries(email, 'VERIFY_EMAIL')).length, 1);

  await applyActionCode(auth, code);
  await user.reload();
  assert.equal(user.emailVerified, true);
  assert.equal(user.email, email);
  assert.equal((await tessera.admin.getUser(user.uid)).emailVerified, true);
  assert.deepEqual(await oobEntries(email, 'VERIFY_EMAIL'), []);

  await assert.rejects(applyActionCode(auth, code), { code: 'auth/invalid-action-code' });
  await assert.rejects(checkActionCode(auth, code), { code: 'auth/invalid-action-code' });
  // A fresh sign-in sees the verified address too.
  assert.equal((await signIn(email)).user.emailVerified, true);
});

test('applyActionCode and checkActionCode with an unknown code are auth/invalid-action-code', async () => {
  const auth = tessera.client();
  await assert.rejects(applyActionCode(auth, 'not-a-code'), { code: 'auth/invalid-action-code' });
  await assert.rejects(checkActionCode(auth, 'not-a-code'), { code: 'auth/invalid-action-code' });
});

test('sendPasswordResetEmail: verifyPasswordResetCode, then confirmPasswordReset sets the new password', async () => {
  const { email, user } = await tessera.signUp();
  const auth = tessera.client();
  await sendPasswordResetEmail(auth, email);
  const code = await oobCode(email, 'PASSWORD_RESET', 'resetPassword');

  assert.equal(await verifyPasswordResetCode(auth, code), email);
  const info = await checkActionCode(auth, code);
  assert.equal(info.operation, 'PASSWORD_RESET');
  assert.equal(info.data.email, email);

  // A weak password is refused and leaves the code usable.
  await assert.rejects(confirmPasswordReset(auth, code, 'short'), { code: 'auth/weak-password' });
  assert.equal(await verifyPasswordResetCode(auth, code), email);

  const newPassword = 'a brand new secret';
  await confirmPasswordReset(auth, code, newPassword);
  // The server answers INVALID_PASSWORD, which the SDK maps to auth/wrong-password.
  await assert.rejects(signIn(email, PASSWORD), { code: 'auth/wrong-password' });
  assert.equal((await signIn(email, newPassword)).user.uid, user.uid);

  // The code is used up.
  assert.deepEqual(await oobEntries(email, 'PASSWORD_RESET'), []);
  await assert.rejects(verifyPasswordResetCode(auth, code), { code: 'auth/invalid-action-code' });
  await assert.rejects(confirmPasswordReset(auth, code, 'yet another secret'), { code: 'auth/invalid-action-code' });
  assert.equal((await signIn(email, newPassword)).user.uid, user.uid);
});

test('sendPasswordResetEmail for an unknown address is auth/user-not-found (server: EMAIL_NOT_FOUND)', async () => {
  const email = uniqueEmail('nobody');
  await assert.rejects(sendPasswordResetEmail(tessera.client(), email), { code: 'auth/user-not-found' });
  assert.deepEqual(await oobEntries(email, 'PASSWORD_RESET'), []);
});

test('a verification code cannot reset the password: confirmPasswordReset is auth/invalid-action-code', async () => {
  const { auth, user, email } = await tessera.signUp();
  await sendEmailVerification(user);
  const code = await oobCode(email, 'VERIFY_EMAIL', 'verifyEmail');
  await assert.rejects(confirmPasswordReset(auth, code, 'a brand new secret'), { code: 'auth/invalid-action-code' });
  assert.equal((await signIn(email)).user.uid, user.uid);
});

test('verifyBeforeUpdateEmail: applying its code moves the sign-in to the new, verified address', async () => {
  const { auth, user, email } = await tessera.signUp();
  const newEmail = uniqueEmail('moved');
  await verifyBeforeUpdateEmail(user, newEmail);
  // Nothing changes before the link is used.
  assert.equal((await tessera.admin.getUser(user.uid)).email, email);

  // As in the emulator, the entry is listed under the current address.
  const code = await oobCode(email, 'VERIFY_AND_CHANGE_EMAIL', 'verifyAndChangeEmail');
  const info = await checkActionCode(auth, code);
  assert.equal(info.operation, 'VERIFY_AND_CHANGE_EMAIL');
  assert.equal(info.data.email, newEmail);
  assert.equal(info.data.previousEmail, email);

  await applyActionCode(auth, code);
  const moved = (await signIn(newEmail)).user;
  assert.equal(moved.uid, user.uid);
  assert.equal(moved.email, newEmail);
  assert.equal(moved.emailVerified, true);
  await assert.rejects(signIn(email), { code: 'auth/user-not-found' });
  const record = await tessera.admin.getUser(user.uid);
  assert.equal(record.email, newEmail);
  assert.equal(record.emailVerified, true);
  await assert.rejects(applyActionCode(auth, code), { code: 'auth/invalid-action-code' });
});

test('verifyBeforeUpdateEmail to an address another user has is auth/email-already-in-use', async () => {
  const { user, email } = await tessera.signUp();
  const other = await tessera.signUp();
  await assert.rejects(verifyBeforeUpdateEmail(user, other.email), { code: 'auth/email-already-in-use' });
  assert.deepEqual(await oobEntries(email, 'VERIFY_AND_CHANGE_EMAIL'), []);
});

test('firebase-admin generateEmailVerificationLink and generatePasswordResetLink return working links', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const auth = tessera.client();

  const verifyLink = new URL(await tessera.admin.generateEmailVerificationLink(email));
  assert.equal(verifyLink.origin, tessera.baseUrl);
  assert.equal(verifyLink.searchParams.get('mode'), 'verifyEmail');
  const verifyCode = verifyLink.searchParams.get('oobCode');
  assert.ok(verifyCode, `oobCode in ${verifyLink}`);
  // A returned link is not emailed, but it is outstanding like any other.
  assert.deepEqual(
    (await oobEntries(email, 'VERIFY_EMAIL')).map((entry) => entry.oobCode),
    [verifyCode],
  );

  const resetLink = new URL(await tessera.admin.generatePasswordResetLink(email));
  assert.equal(resetLink.searchParams.get('mode'), 'resetPassword');
  const resetCode = resetLink.searchParams.get('oobCode');
  assert.ok(resetCode, `oobCode in ${resetLink}`);
  assert.notEqual(resetCode, verifyCode);
  assert.equal(await verifyPasswordResetCode(auth, resetCode), email);

  assert.equal((await tessera.admin.getUser(uid)).emailVerified, false);
  await applyActionCode(auth, verifyCode);
  assert.equal((await tessera.admin.getUser(uid)).emailVerified, true);
  await assert.rejects(applyActionCode(auth, verifyCode), { code: 'auth/invalid-action-code' });

  // The reset link still works after the verification.
  await confirmPasswordReset(auth, resetCode, 'set by the admin link');
  assert.equal((await signIn(email, 'set by the admin link')).user.uid, uid);
});

test('firebase-admin generateEmailVerificationLink for an unknown address is auth/user-not-found', async () => {
  const email = uniqueEmail('nobody');
  await assert.rejects(tessera.admin.generateEmailVerificationLink(email), { code: 'auth/user-not-found' });
  await assert.rejects(tessera.admin.generatePasswordResetLink(email), { code: 'auth/email-not-found' });
});
