// Identity Platform's email enumeration protection (`emailPrivacyConfig.enableImprovedEmailPrivacy`),
// switched with firebase-admin's projectConfigManager and tenantManager and seen through the JS
// SDK: with it on, password sign-in answers INVALID_LOGIN_CREDENTIALS (auth/invalid-credential)
// for an unknown address and for a wrong password alike, and a password reset for an unknown
// address resolves without issuing anything. Sign-up of a taken address still says so.
//
// The tests that switch the project's setting run one after another (node:test's default within
// a file) and switch it back off in a finally block, so every test starts with it off.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createUserWithEmailAndPassword,
  fetchSignInMethodsForEmail,
  sendPasswordResetEmail,
  signInWithEmailAndPassword,
  verifyPasswordResetCode,
} from 'firebase/auth';

import { PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();


async function signUp(tenantId = null, email = uniqueEmail()) {
  const { user } = await createUserWithEmailAndPassword(tessera.client(tenantId), email, PASSWORD);
  assert.equal(user.tenantId, tenantId);
  return { user, email };
}

const signIn = (tenantId, email, password = PASSWORD) =>
  signInWithEmailAndPassword(tessera.client(tenantId), email, password);

/** The outstanding PASSWORD_RESET links for `email` in the project or a tenant. */
const resetEntries = (tenantId, email) => tessera.oobEntries(email, 'PASSWORD_RESET', tenantId);

const projectConfig = () => tessera.admin.projectConfigManager();
const tenants = () => tessera.admin.tenantManager();

async function setProjectPrivacy(on) {
  const config = await projectConfig().updateProjectConfig({ emailPrivacyConfig: { enableImprovedEmailPrivacy: on } });
  assert.deepEqual(config.emailPrivacyConfig, { enableImprovedEmailPrivacy: on });
  return config;
}

/** Runs `body` with the project's email privacy on, and switches it back off whatever happens. */
async function withProjectPrivacy(body) {
  await setProjectPrivacy(true);
  try {
    await body();
  } finally {
    await setProjectPrivacy(false);
  }
}

/** The old answers: EMAIL_NOT_FOUND and INVALID_PASSWORD, auth/user-not-found and auth/wrong-password. */
async function assertRevealingErrors(tenantId) {
  const { email } = await signUp(tenantId);
  await assert.rejects(signIn(tenantId, uniqueEmail('nobody')), { code: 'auth/user-not-found' });
  await assert.rejects(signIn(tenantId, email, 'not the password'), { code: 'auth/wrong-password' });
  const nobody = uniqueEmail('nobody');
  await assert.rejects(sendPasswordResetEmail(tessera.client(tenantId), nobody), { code: 'auth/user-not-found' });
  assert.deepEqual(await resetEntries(tenantId, nobody), []);
  assert.equal((await signIn(tenantId, email)).user.email, email);
}

/** The protected answers: one auth/invalid-credential for both, and a silent reset for nobody. */
async function assertPrivateErrors(tenantId) {
  const { user, email } = await signUp(tenantId);
  await assert.rejects(signIn(tenantId, uniqueEmail('nobody')), { code: 'auth/invalid-credential' });
  await assert.rejects(signIn(tenantId, email, 'not the password'), { code: 'auth/invalid-credential' });
  const nobody = uniqueEmail('nobody');
  await sendPasswordResetEmail(tessera.client(tenantId), nobody);
  assert.deepEqual(await resetEntries(tenantId, nobody), []);
  // The right password still signs in.
  assert.equal((await signIn(tenantId, email)).user.uid, user.uid);
}

test('email privacy is off by default: getProjectConfig says so and sign-in errors name the cause', async () => {
  const config = await projectConfig().getProjectConfig();
  assert.deepEqual(config.emailPrivacyConfig, { enableImprovedEmailPrivacy: false });
  assert.deepEqual(config.toJSON().emailPrivacyConfig, { enableImprovedEmailPrivacy: false });
  await assertRevealingErrors(null);
});

test('with the project\'s email privacy on, an unknown address and a wrong password are both auth/invalid-credential', async () => {
  const { email } = await signUp();
  await withProjectPrivacy(async () => {
    assert.deepEqual((await projectConfig().getProjectConfig()).emailPrivacyConfig, { enableImprovedEmailPrivacy: true });
    await assert.rejects(signIn(null, uniqueEmail('nobody')), { code: 'auth/invalid-credential' });
    await assert.rejects(signIn(null, email, 'not the password'), { code: 'auth/invalid-credential' });
    assert.equal((await signIn(null, email)).user.email, email);

    // On the wire both are the same 400 INVALID_LOGIN_CREDENTIALS.
    for (const body of [
      { email: uniqueEmail('nobody'), password: PASSWORD },
      { email, password: 'not the password' },
    ]) {
      const response = await fetch(`${tessera.baseUrl}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=dev-api-key`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, returnSecureToken: true }),
      });
      assert.equal(response.status, 400);
      const { error } = await response.json();
      assert.equal(error.message, 'INVALID_LOGIN_CREDENTIALS', JSON.stringify(error));
    }
  });
  assert.deepEqual((await projectConfig().getProjectConfig()).emailPrivacyConfig, { enableImprovedEmailPrivacy: false });
});

test('with the project\'s email privacy on, a password reset for an unknown address resolves and issues nothing', async () => {
  await withProjectPrivacy(async () => {
    const nobody = uniqueEmail('nobody');
    await sendPasswordResetEmail(tessera.client(), nobody);
    assert.deepEqual(await resetEntries(null, nobody), []);
    // Nor was an account made for it.
    await assert.rejects(tessera.admin.getUserByEmail(nobody), { code: 'auth/user-not-found' });
  });
});

test('with the project\'s email privacy on, a password reset for a known address still issues a working code', async () => {
  const { email } = await signUp();
  await withProjectPrivacy(async () => {
    const auth = tessera.client();
    await sendPasswordResetEmail(auth, email);
    const entries = await resetEntries(null, email);
    assert.equal(entries.length, 1, JSON.stringify(entries));
    assert.equal(new URL(entries[0].oobLink).searchParams.get('mode'), 'resetPassword');
    assert.equal(await verifyPasswordResetCode(auth, entries[0].oobCode), email);
  });
});

test('with the project\'s email privacy on, signing up a taken address is still auth/email-already-in-use', async () => {
  const { email } = await signUp();
  await withProjectPrivacy(async () => {
    await assert.rejects(signUp(null, email), { code: 'auth/email-already-in-use' });
  });
});

test('turning the project\'s email privacy off again restores auth/user-not-found and auth/wrong-password', async () => {
  await withProjectPrivacy(() => assertPrivateErrors(null));
  assert.deepEqual((await projectConfig().getProjectConfig()).emailPrivacyConfig, { enableImprovedEmailPrivacy: false });
  await assertRevealingErrors(null);
});

test('a tenant created with email privacy on protects its addresses while the project (off) does not', async () => {
  const tenant = await tenants().createTenant({
    displayName: 'Private-Tenant',
    emailPrivacyConfig: { enableImprovedEmailPrivacy: true },
  });
  assert.deepEqual(tenant.emailPrivacyConfig, { enableImprovedEmailPrivacy: true });
  assert.deepEqual((await tenants().getTenant(tenant.tenantId)).emailPrivacyConfig, { enableImprovedEmailPrivacy: true });
  assert.deepEqual((await projectConfig().getProjectConfig()).emailPrivacyConfig, { enableImprovedEmailPrivacy: false });

  await assertPrivateErrors(tenant.tenantId);
  await assertRevealingErrors(null);

  // In the tenant too, a known address still gets its reset link and a taken one cannot sign up.
  const { email } = await signUp(tenant.tenantId);
  await sendPasswordResetEmail(tessera.client(tenant.tenantId), email);
  assert.equal((await resetEntries(tenant.tenantId, email)).length, 1);
  assert.deepEqual(await resetEntries(null, email), []);
  await assert.rejects(signUp(tenant.tenantId, email), { code: 'auth/email-already-in-use' });

  // updateTenant switches it off again.
  const updated = await tenants().updateTenant(tenant.tenantId, { emailPrivacyConfig: { enableImprovedEmailPrivacy: false } });
  assert.deepEqual(updated.emailPrivacyConfig, { enableImprovedEmailPrivacy: false });
  assert.equal(updated.displayName, 'Private-Tenant');
  await assertRevealingErrors(tenant.tenantId);
});

test('a tenant (off by default) keeps the old errors while the project has email privacy on', async () => {
  const tenant = await tenants().createTenant({ displayName: 'Plain-Tenant' });
  assert.deepEqual(tenant.emailPrivacyConfig, { enableImprovedEmailPrivacy: false });

  await withProjectPrivacy(async () => {
    await assertPrivateErrors(null);
    await assertRevealingErrors(tenant.tenantId);

    // Switched on with updateTenant, the tenant protects its addresses too.
    const updated = await tenants().updateTenant(tenant.tenantId, { emailPrivacyConfig: { enableImprovedEmailPrivacy: true } });
    assert.deepEqual(updated.emailPrivacyConfig, { enableImprovedEmailPrivacy: true });
    assert.equal(updated.displayName, 'Plain-Tenant');
    await assertPrivateErrors(tenant.tenantId);
  });

  // The project is off again; the tenant keeps its own setting.
  await assertRevealingErrors(null);
  assert.deepEqual((await tenants().getTenant(tenant.tenantId)).emailPrivacyConfig, { enableImprovedEmailPrivacy: true });
  await assertPrivateErrors(tenant.tenantId);
});

// Enumeration protection is for end users: an administrator asking for a link back is told
// there is none to make.
test('with the project\'s email privacy on, firebase-admin generatePasswordResetLink for an unknown address is still auth/email-not-found', async () => {
  await withProjectPrivacy(async () => {
    await assert.rejects(tessera.admin.generatePasswordResetLink(uniqueEmail('nobody')), { code: 'auth/email-not-found' });
  });
});

test('with the project\'s email privacy on, fetchSignInMethodsForEmail tells nothing', async () => {
  const { email } = await signUp();
  assert.deepEqual(await fetchSignInMethodsForEmail(tessera.client(), email), ['password']);
  await withProjectPrivacy(async () => {
    assert.deepEqual(await fetchSignInMethodsForEmail(tessera.client(), email), []);
  });
  assert.deepEqual(await fetchSignInMethodsForEmail(tessera.client(), email), ['password']);
});
