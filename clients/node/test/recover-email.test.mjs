// Firebase's RECOVER_EMAIL links: when an end user changes their own address (the JS SDK's
// updateEmail, or a verifyBeforeUpdateEmail link applied), the old address is sent a link that
// changes it back. The tests read the codes from the emulator's oobCodes list, as Firebase
// emulator tests do, and use the unmodified SDK's checkActionCode and applyActionCode; an
// administrator's change (firebase-admin updateUser) and an anonymous user's send none.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyActionCode,
  checkActionCode,
  getIdTokenResult,
  reload,
  signInAnonymously,
  updateEmail,
  verifyBeforeUpdateEmail,
} from 'firebase/auth';

import { PASSWORD, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();
const signIn = tessera.signIn;
const { oobCode, oobEntries } = tessera;


// Sessions are revoked at whole-second granularity: a token issued in the same second as the
// revocation stays valid, so wait past a second boundary before revoking.
const nextSecond = () => sleep(1100);


/** Every outstanding RECOVER_EMAIL link, whatever its address. */
const allRecoveryEntries = async () =>
  (await tessera.oobCodes()).filter((entry) => entry.requestType === 'RECOVER_EMAIL');

const recoveryCode = (oldEmail) => oobCode(oldEmail, 'RECOVER_EMAIL', 'recoverEmail');

test('updateEmail sends the old address a RECOVER_EMAIL link; applying it restores the address and ends the sessions', async () => {
  const { auth, user, email: oldEmail } = await tessera.signUp(uniqueEmail('recover-old'));
  assert.equal(user.emailVerified, false);
  const newEmail = uniqueEmail('recover-new');
  await updateEmail(user, newEmail);
  await reload(user);
  assert.equal(user.email, newEmail);
  assert.equal((await tessera.admin.getUser(user.uid)).email, newEmail);

  // The link goes to the old address; the new one gets none.
  const code = await recoveryCode(oldEmail);
  assert.deepEqual(await oobEntries(newEmail, 'RECOVER_EMAIL'), []);

  // The old inbox's owner opens it: a fresh client, not signed in.
  const recovering = tessera.client();
  const info = await checkActionCode(recovering, code);
  assert.equal(info.operation, 'RECOVER_EMAIL');
  assert.equal(info.data.email, oldEmail, 'data.email is the address to restore');
  assert.equal(info.data.previousEmail, newEmail, 'data.previousEmail is the address it was changed to');
  // Checking does not use the code up, nor change the user.
  assert.equal((await oobEntries(oldEmail, 'RECOVER_EMAIL')).length, 1);
  assert.equal((await tessera.admin.getUser(user.uid)).email, newEmail);

  await nextSecond();
  await applyActionCode(recovering, code);

  const record = await tessera.admin.getUser(user.uid);
  assert.equal(record.email, oldEmail);
  assert.equal(record.emailVerified, true, 'the link proves the old address');

  // Every session issued before the recovery is revoked: the changer's own session dies.
  await assert.rejects(user.getIdToken(true), { code: 'auth/user-token-expired' });
  assert.equal(auth.currentUser, null, 'the SDK signs out the revoked user');

  // Signing in again: the old address and the password work, the new address does not.
  const { user: again } = await signIn(oldEmail);
  assert.equal(again.uid, user.uid);
  assert.equal(again.email, oldEmail);
  assert.equal(again.emailVerified, true);
  await reload(again);
  assert.equal(again.email, oldEmail);
  assert.equal(again.emailVerified, true);
  const { claims } = await getIdTokenResult(again, true);
  assert.equal(claims.email, oldEmail);
  assert.equal(claims.email_verified, true);
  await assert.rejects(signIn(newEmail), { code: 'auth/user-not-found' });

  // The code is used up, and changing back sends no recovery link for the other address.
  assert.deepEqual(await oobEntries(oldEmail, 'RECOVER_EMAIL'), []);
  assert.deepEqual(await oobEntries(newEmail, 'RECOVER_EMAIL'), []);
  await assert.rejects(applyActionCode(recovering, code), { code: 'auth/invalid-action-code' });
  await assert.rejects(checkActionCode(recovering, code), { code: 'auth/invalid-action-code' });
  assert.equal((await tessera.admin.getUser(user.uid)).email, oldEmail);
  // The session started after the recovery survives.
  assert.equal((await getIdTokenResult(again, true)).claims.sub, user.uid);
});

test('applying a verifyBeforeUpdateEmail link sends the old address a RECOVER_EMAIL link', async () => {
  const { auth, user, email: oldEmail } = await tessera.signUp(uniqueEmail('recover-vbue-old'));
  const newEmail = uniqueEmail('recover-vbue-new');
  await verifyBeforeUpdateEmail(user, newEmail);
  // Nothing has changed yet, so there is nothing to recover.
  assert.deepEqual(await oobEntries(oldEmail, 'RECOVER_EMAIL'), []);

  const changeCode = await oobCode(oldEmail, 'VERIFY_AND_CHANGE_EMAIL', 'verifyAndChangeEmail');
  await applyActionCode(tessera.client(), changeCode);
  assert.equal((await tessera.admin.getUser(user.uid)).email, newEmail);

  const code = await recoveryCode(oldEmail);
  assert.deepEqual(await oobEntries(newEmail, 'RECOVER_EMAIL'), []);
  const info = await checkActionCode(auth, code);
  assert.equal(info.operation, 'RECOVER_EMAIL');
  assert.equal(info.data.email, oldEmail);
  assert.equal(info.data.previousEmail, newEmail);

  // And it works like the one updateEmail sends.
  await nextSecond();
  await applyActionCode(tessera.client(), code);
  const record = await tessera.admin.getUser(user.uid);
  assert.equal(record.email, oldEmail);
  assert.equal(record.emailVerified, true);
  assert.equal((await signIn(oldEmail)).user.uid, user.uid);
  await assert.rejects(signIn(newEmail), { code: 'auth/user-not-found' });
  await assert.rejects(applyActionCode(auth, code), { code: 'auth/invalid-action-code' });
});

test('an administrator\'s change of address (firebase-admin updateUser) sends no RECOVER_EMAIL link', async () => {
  const oldEmail = uniqueEmail('recover-admin-old');
  const { uid } = await tessera.admin.createUser({ email: oldEmail, password: PASSWORD, emailVerified: true });
  const newEmail = uniqueEmail('recover-admin-new');
  await tessera.admin.updateUser(uid, { email: newEmail });
  assert.equal((await tessera.admin.getUser(uid)).email, newEmail);
  assert.equal((await signIn(newEmail)).user.uid, uid);

  assert.deepEqual(await oobEntries(oldEmail, 'RECOVER_EMAIL'), []);
  assert.deepEqual(await oobEntries(newEmail, 'RECOVER_EMAIL'), []);
  // Nor under any other address for this change.
  const listed = await allRecoveryEntries();
  assert.ok(
    listed.every((entry) => entry.email !== oldEmail && entry.email !== newEmail),
    JSON.stringify(listed),
  );
});

test('two successive changes A→B→C give a recovery link for A and one for B; applying A\'s ends B\'s', async () => {
  const { user, email: a } = await tessera.signUp(uniqueEmail('recover-a'));
  const b = uniqueEmail('recover-b');
  const c = uniqueEmail('recover-c');
  await updateEmail(user, b);
  await updateEmail(user, c);
  assert.equal((await tessera.admin.getUser(user.uid)).email, c);

  const codeA = await recoveryCode(a);
  const codeB = await recoveryCode(b);
  assert.notEqual(codeA, codeB);
  assert.deepEqual(await oobEntries(c, 'RECOVER_EMAIL'), []);

  const auth = tessera.client();
  const infoA = await checkActionCode(auth, codeA);
  assert.deepEqual([infoA.operation, infoA.data.email, infoA.data.previousEmail], ['RECOVER_EMAIL', a, b]);
  const infoB = await checkActionCode(auth, codeB);
  assert.deepEqual([infoB.operation, infoB.data.email, infoB.data.previousEmail], ['RECOVER_EMAIL', b, c]);

  await nextSecond();
  await applyActionCode(auth, codeA);
  const record = await tessera.admin.getUser(user.uid);
  assert.equal(record.email, a);
  assert.equal(record.emailVerified, true);

  // Applying one ends the user's other recovery links.
  assert.deepEqual(await oobEntries(a, 'RECOVER_EMAIL'), []);
  assert.deepEqual(await oobEntries(b, 'RECOVER_EMAIL'), []);
  await assert.rejects(checkActionCode(auth, codeB), { code: 'auth/invalid-action-code' });
  await assert.rejects(applyActionCode(auth, codeB), { code: 'auth/invalid-action-code' });
  assert.equal((await tessera.admin.getUser(user.uid)).email, a);
  assert.equal((await signIn(a)).user.uid, user.uid);
  await assert.rejects(user.getIdToken(true), { code: 'auth/user-token-expired' });
});

test('an anonymous user\'s change of address sends no RECOVER_EMAIL link', async () => {
  const { user } = await signInAnonymously(tessera.client());
  assert.equal(user.isAnonymous, true);
  const first = uniqueEmail('recover-anon-first');
  const second = uniqueEmail('recover-anon-second');
  await updateEmail(user, first);
  assert.equal((await tessera.admin.getUser(user.uid)).email, first);
  await updateEmail(user, second);
  assert.equal((await tessera.admin.getUser(user.uid)).email, second);

  assert.deepEqual(await oobEntries(first, 'RECOVER_EMAIL'), []);
  assert.deepEqual(await oobEntries(second, 'RECOVER_EMAIL'), []);
});
