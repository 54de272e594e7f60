// Second factors (spec 4.7–4.11, 7.1) through the JS SDK and firebase-admin.
//
// Assumes what the Firebase Auth emulator does: dev mode's default project allows phone and
// TOTP second factors without a config call. TOTP codes come from an independent
// implementation (otpauth) with the spec's fixed parameters: SHA1, 6 digits, 30 s.
//
// The Node build of the JS SDK cannot do phone MFA: its PhoneAuthProvider constructor and
// PhoneMultiFactorGenerator.assertion() throw auth/operation-not-supported-in-this-environment.
// So phone factors are enrolled through firebase-admin, and the SMS step of a phone sign-in
// goes over plain HTTP after the SDK has produced the MFA-required error.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import {
  getIdTokenResult,
  getMultiFactorResolver,
  multiFactor,
  reload,
  signInWithEmailAndPassword,
  signOut,
  TotpMultiFactorGenerator,
} from 'firebase/auth';
import { Secret, TOTP } from 'otpauth';

import { decodeJwt, PASSWORD, uniqueEmail, uniquePhone, useTessera } from './server.mjs';

const tessera = useTessera();
const PERIOD_MS = 30_000;

const currentStep = () => Math.floor(Date.now() / PERIOD_MS);
const totpCode = (secretKey, step) =>
  new TOTP({ secret: Secret.fromBase32(secretKey), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: step * PERIOD_MS,
  });
// A six-digit code that differs from the right one.
const wrongCode = (code) => String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');

/** A password user with a verified email (MFA enrolment requires one), signed in. */
async function verifiedUser() {
  const email = uniqueEmail('mfa');
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD, emailVerified: true });
  const { user } = await tessera.signIn(email);
  assert.equal(user.emailVerified, true);
  return { auth: user.auth, user, uid, email };
}

/** Password sign-in for a user with a second factor: the MFA-required error and its resolver. */
async function passwordStep(email, auth = tessera.client()) {
  const error = await signInWithEmailAndPassword(auth, email, PASSWORD).then(
    () => assert.fail('password sign-in must require the second factor'),
    (e) => e,
  );
  assert.equal(error.code, 'auth/multi-factor-auth-required', error.message);
  assert.equal(auth.currentUser, null);
  return { auth, error, resolver: getMultiFactorResolver(auth, error) };
}

test('TOTP enrolment needs a verified email: auth/unverified-email', async () => {
  const email = uniqueEmail('unverified');
  await tessera.admin.createUser({ email, password: PASSWORD });
  const { user } = await tessera.signIn(email);
  await assert.rejects(TotpMultiFactorGenerator.generateSecret(await multiFactor(user).getSession()), {
    code: 'auth/unverified-email',
  });
});

test('an unverified user becomes eligible once firebase-admin verifies the email and the user reloads', async () => {
  const email = uniqueEmail('later');
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const { user } = await tessera.signIn(email);
  await tessera.admin.updateUser(uid, { emailVerified: true });
  await reload(user);
  assert.equal(user.emailVerified, true);
  // The ID token in hand still says email_verified: false; a fresh one says true.
  assert.equal((await getIdTokenResult(user)).claims.email_verified, false);
  assert.equal((await getIdTokenResult(user, true)).claims.email_verified, true);
  const secret = await TotpMultiFactorGenerator.generateSecret(await multiFactor(user).getSession());
  assert.match(secret.secretKey, /^[A-Z2-7]+$/);
});

describe('a TOTP second factor, from enrolment to sign-in to removal', () => {
  let account; // { auth, user, uid, email }
  let secret;
  let enrolmentStep;
  let factorUid;

  before(async () => {
    account = await verifiedUser();
  });

  test('generateSecret returns a base32 secret with the spec parameters (SHA1, 6 digits, 30 s)', async () => {
    secret = await TotpMultiFactorGenerator.generateSecret(await multiFactor(account.user).getSession());
    // RFC 4648 base32 without padding, as authenticator apps expect; at least 80 bits.
    assert.match(secret.secretKey, /^[A-Z2-7]{16,}$/);
    assert.equal(secret.hashingAlgorithm, 'SHA1');
    assert.equal(secret.codeLength, 6);
    assert.equal(secret.codeIntervalSeconds, 30);
    assert.ok(Date.parse(secret.enrollmentCompletionDeadline) > Date.now(), secret.enrollmentCompletionDeadline);
    assert.equal(
      secret.generateQrCodeUrl('ada@example.com', 'Tessera'),
      `otpauth://totp/Tessera:ada@example.com?secret=${secret.secretKey}&issuer=Tessera&algorithm=SHA1&digits=6`,
    );
  });

  test('a wrong code does not enrol: auth/invalid-verification-code', async () => {
    assert.ok(secret, 'generateSecret failed above');
    const assertion = TotpMultiFactorGenerator.assertionForEnrollment(secret, wrongCode(totpCode(secret.secretKey, currentStep())));
    await assert.rejects(multiFactor(account.user).enroll(assertion, 'Authenticator'), {
      code: 'auth/invalid-verification-code',
    });
    assert.deepEqual(multiFactor(account.user).enrolledFactors, []);
  });

  test('enrol with the current code: the factor is listed and the new session records it', async () => {
    assert.ok(secret, 'generateSecret failed above');
    enrolmentStep = currentStep();
    const assertion = TotpMultiFactorGenerator.assertionForEnrollment(secret, totpCode(secret.secretKey, enrolmentStep));
    await multiFactor(account.user).enroll(assertion, 'Authenticator');

    const factors = multiFactor(account.user).enrolledFactors;
    assert.equal(factors.length, 1);
    const [factor] = factors;
    factorUid = factor.uid;
    assert.equal(factor.factorId, 'totp');
    assert.equal(factor.displayName, 'Authenticator');
    assert.ok(factor.uid);
    assert.ok(Math.abs(Date.parse(factor.enrollmentTime) - Date.now()) < 60_000, factor.enrollmentTime);

    // Enrolment issues new tokens whose claims name the second factor.
    const { signInSecondFactor, claims } = await getIdTokenResult(account.user);
    assert.equal(signInSecondFactor, 'totp');
    assert.equal(claims.firebase.second_factor_identifier, factorUid);
    assert.equal(claims.firebase.sign_in_provider, 'password');

    const record = await tessera.admin.getUser(account.uid);
    assert.deepEqual(
      record.multiFactor.enrolledFactors.map(({ uid, factorId, displayName }) => ({ uid, factorId, displayName })),
      [{ uid: factorUid, factorId: 'totp', displayName: 'Authenticator' }],
    );
  });

  test('password sign-in now stops at auth/multi-factor-auth-required with a totp hint', async () => {
    assert.ok(factorUid, 'enrolment failed above');
    await signOut(account.auth);
    const { error, resolver } = await passwordStep(account.email, account.auth);
    assert.equal(error.customData.operationType, 'signIn');
    assert.deepEqual(
      resolver.hints.map(({ uid, factorId, displayName, enrollmentTime }) => ({ uid, factorId, displayName, enrollmentTime })),
      multiFactor(account.user).enrolledFactors.map(({ uid, factorId, displayName, enrollmentTime }) => ({
        uid,
        factorId,
        displayName,
        enrollmentTime,
      })),
    );
  });

  test('the code used for enrolment cannot be replayed, and a wrong code is refused', async () => {
    assert.ok(factorUid, 'enrolment failed above');
    const { resolver } = await passwordStep(account.email);
    for (const code of [totpCode(secret.secretKey, enrolmentStep), wrongCode(totpCode(secret.secretKey, currentStep()))]) {
      await assert.rejects(resolver.resolveSignIn(TotpMultiFactorGenerator.assertionForSignIn(factorUid, code)), {
        code: 'auth/invalid-verification-code',
      });
    }
  });

  test('resolveSignIn with the next time step\'s code signs in; the session keeps "totp" across refresh', async () => {
    assert.ok(factorUid, 'enrolment failed above');
    const { auth, resolver } = await passwordStep(account.email);
    const [hint] = resolver.hints;
    // The enrolment consumed its time step; the next one is within the accepted window.
    const code = totpCode(secret.secretKey, enrolmentStep + 1);
    const credential = await resolver.resolveSignIn(TotpMultiFactorGenerator.assertionForSignIn(hint.uid, code));
    assert.equal(credential.user.uid, account.uid);
    assert.equal(auth.currentUser, credential.user);

    const first = await getIdTokenResult(credential.user);
    assert.equal(first.signInProvider, 'password');
    assert.equal(first.signInSecondFactor, 'totp');
    assert.equal(first.claims.firebase.second_factor_identifier, hint.uid);

    const refreshed = await getIdTokenResult(credential.user, true);
    assert.equal(refreshed.signInSecondFactor, 'totp');
    assert.equal(refreshed.claims.firebase.second_factor_identifier, hint.uid);
    account = { ...account, auth, user: credential.user };
  });

  test('unenroll removes the factor: password sign-in is single-factor again', async () => {
    assert.ok(factorUid, 'enrolment failed above');
    await multiFactor(account.user).unenroll(factorUid);
    assert.deepEqual(multiFactor(account.user).enrolledFactors, []);
    assert.equal((await tessera.admin.getUser(account.uid)).multiFactor, undefined);

    const { user } = await tessera.signIn(account.email);
    assert.equal(user.uid, account.uid);
    assert.equal((await getIdTokenResult(user)).signInSecondFactor, null);
  });
});

describe('a phone second factor managed through firebase-admin', () => {
  const phoneNumber = uniquePhone();
  const email = uniqueEmail('phone-mfa');
  let uid;
  let factor;

  test('createUser with multiFactor.enrolledFactors stores the factor; getUser shows it', async () => {
    const created = await tessera.admin.createUser({
      email,
      password: PASSWORD,
      emailVerified: true,
      multiFactor: { enrolledFactors: [{ phoneNumber, displayName: 'Work phone', factorId: 'phone' }] },
    });
    uid = created.uid;
    const record = await tessera.admin.getUser(uid);
    assert.equal(record.multiFactor.enrolledFactors.length, 1);
    factor = record.multiFactor.enrolledFactors[0];
    assert.equal(factor.factorId, 'phone');
    assert.equal(factor.phoneNumber, phoneNumber);
    assert.equal(factor.displayName, 'Work phone');
    assert.ok(factor.uid);
    // Tessera always records the enrolment time (the emulator leaves it out here).
    assert.ok(Math.abs(Date.parse(factor.enrollmentTime) - Date.now()) < 60_000, factor.enrollmentTime);
  });

  test('the JS SDK gets a phone hint with the number obfuscated; the SMS code from verificationCodes finishes the sign-in', async () => {
    assert.ok(factor, 'createUser with a second factor failed above');
    const { error, resolver } = await passwordStep(email);
    assert.deepEqual(
      resolver.hints.map(({ uid: hintUid, factorId, displayName, phoneNumber: shown }) => ({ hintUid, factorId, displayName, shown })),
      [{ hintUid: factor.uid, factorId: 'phone', displayName: 'Work phone', shown: `+*******${phoneNumber.slice(-4)}` }],
    );

    // What PhoneAuthProvider.verifyPhoneNumber + PhoneMultiFactorGenerator would send in a browser.
    const { mfaPendingCredential } = error.customData._serverResponse;
    const v2 = (method) => `/identitytoolkit.googleapis.com/v2/accounts/${method}?key=dev-api-key`;
    const started = await tessera.rest(v2('mfaSignIn:start'), {
      method: 'POST',
      body: { mfaPendingCredential, mfaEnrollmentId: factor.uid, phoneSignInInfo: { recaptchaToken: 'test-token' } },
    });
    const { sessionInfo } = started.phoneResponseInfo;
    const codesPath = '/emulator/v1/projects/demo-project/verificationCodes';
    const pending = (await tessera.rest(codesPath)).verificationCodes.find((entry) => entry.sessionInfo === sessionInfo);
    assert.ok(pending, 'the pending SMS is listed');
    assert.equal(pending.phoneNumber, phoneNumber);
    assert.match(pending.code, /^\d{6}$/);

    const finished = await tessera.rest(v2('mfaSignIn:finalize'), {
      method: 'POST',
      body: { mfaPendingCredential, mfaEnrollmentId: factor.uid, phoneVerificationInfo: { sessionInfo, code: pending.code } },
    });
    const { payload } = decodeJwt(finished.idToken);
    assert.equal(payload.sub, uid);
    assert.equal(payload.firebase.sign_in_provider, 'password');
    assert.equal(payload.firebase.sign_in_second_factor, 'phone');
    assert.equal(payload.firebase.second_factor_identifier, factor.uid);
    assert.ok(finished.refreshToken);
    // A verified code leaves the list.
    assert.ok(!(await tessera.rest(codesPath)).verificationCodes.some((entry) => entry.sessionInfo === sessionInfo));
  });

  test('updateUser with enrolledFactors: null removes every factor', async () => {
    assert.ok(factor, 'createUser with a second factor failed above');
    await tessera.admin.updateUser(uid, { multiFactor: { enrolledFactors: null } });
    assert.equal((await tessera.admin.getUser(uid)).multiFactor, undefined);
    const { user } = await tessera.signIn(email);
    assert.equal(user.uid, uid);
  });
});
