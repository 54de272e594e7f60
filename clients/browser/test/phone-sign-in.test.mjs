// Phone numbers as the first factor through the unmodified Firebase JS SDK in a browser:
// signInWithPhoneNumber, linkWithPhoneNumber, updatePhoneNumber and
// reauthenticateWithPhoneNumber exist only in the SDK's browser build. They send the number to
// accounts:sendVerificationCode (with the mock reCAPTCHA's token: see phone-mfa.test.mjs) and the
// texted code, taken here from the dev outbox hook, to accounts:signInWithPhoneNumber (with an
// ID token to link, with operation REAUTH to reauthenticate).
//
// The tests run in order on a few users: the phone user signs up and in, changes its number,
// reauthenticates and cannot enrol a second factor; an email user links a number; an MFA user
// cannot use a number as its first factor. The functions given to `browser.run` execute in the
// page; `window.t` carries SDK objects from one step to the next, starting with `t.auth` (see
// harness.mjs): `t.user` the user acted on, `t.confirmation` the last ConfirmationResult.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PASSWORD, PROJECT, uniqueEmail, uniquePhone, useBrowser } from './harness.mjs';

const browser = useBrowser();
/** The phone user's first number, and the one updatePhoneNumber gives it. */
const phoneNumber = uniquePhone();
const newPhoneNumber = uniquePhone();
let uid;

/** A six-digit code that differs from `code`. */
const wrongCode = (code) => String((Number(code) + 111_111) % 1_000_000).padStart(6, '0');

/** Request bodies the page sent to `path` (e.g. '/v1/accounts:sendVerificationCode'), oldest first. */
const sentTo = (path) =>
  browser.requests.filter((request) => new URL(request.url()).pathname.endsWith(path)).map((request) => request.postDataJSON());

/**
 * In the page: starts a phone verification with a fresh invisible RecaptchaVerifier, as `how`
 * says — 'signIn' (signInWithPhoneNumber), 'link' (linkWithPhoneNumber on t.user), 'reauth'
 * (reauthenticateWithPhoneNumber on t.user), 'verify' (PhoneAuthProvider.verifyPhoneNumber) or
 * 'enrol' (verifyPhoneNumber with t.user's multi-factor session). The ConfirmationResult of the
 * first three is kept as `t.confirmation`. Resolves to `{ verificationId }`; with `expectError`,
 * to `{ code, message }` of the SDK's error instead (an unexpected success gives `{ code: null }`).
 */
const startPhone = (how, number, { expectError = false } = {}) =>
  browser.run(
    async ({ how: kind, number: phone, expectError: expected }) => {
      const { linkWithPhoneNumber, multiFactor, PhoneAuthProvider, reauthenticateWithPhoneNumber, RecaptchaVerifier, signInWithPhoneNumber } =
        firebase.auth;
      // One verifier per call: the mock reCAPTCHA deletes a widget on the SDK's reset after a
      // verification (see phone-mfa.test.mjs).
      const verifier = new RecaptchaVerifier(t.auth, 'recaptcha', { size: 'invisible' });
      const start = async () => {
        switch (kind) {
          case 'signIn':
            t.confirmation = await signInWithPhoneNumber(t.auth, phone, verifier);
            return t.confirmation.verificationId;
          case 'link':
            t.confirmation = await linkWithPhoneNumber(t.user, phone, verifier);
            return t.confirmation.verificationId;
          case 'reauth':
            t.confirmation = await reauthenticateWithPhoneNumber(t.user, phone, verifier);
            return t.confirmation.verificationId;
          case 'verify':
            return new PhoneAuthProvider(t.auth).verifyPhoneNumber(phone, verifier);
          case 'enrol': {
            const session = await multiFactor(t.user).getSession();
            return new PhoneAuthProvider(t.auth).verifyPhoneNumber({ phoneNumber: phone, session }, verifier);
          }
          default:
            throw new Error(`unknown start ${kind}`);
        }
      };
      try {
        const verificationId = await start();
        return expected ? { code: null, verificationId } : { verificationId };
      } catch (e) {
        if (expected) return { code: e.code, message: e.message };
        throw e;
      } finally {
        verifier.clear();
      }
    },
    { how, number, expectError },
  );

/**
 * In the page: `t.confirmation.confirm(code)`, or with `credential` set,
 * updatePhoneNumber(t.user, PhoneAuthProvider.credential(verificationId, code)). Resolves to
 * what the outcome shows of the user, its credential and its ID token (t.user becomes the
 * user); with `expectError`, to `{ code, message }` of the SDK's error.
 */
const confirm = (code, { expectError = false, update } = {}) =>
  browser.run(
    async ({ code: sms, expectError: expected, update: verificationId }) => {
      const { getAdditionalUserInfo, getIdTokenResult, PhoneAuthProvider, updatePhoneNumber } = firebase.auth;
      let credential = null;
      try {
        if (verificationId) await updatePhoneNumber(t.user, PhoneAuthProvider.credential(verificationId, sms));
        else credential = await t.confirmation.confirm(sms);
      } catch (e) {
        t.error = e;
        if (expected) return { code: e.code, message: e.message };
        throw e;
      }
      if (expected) return { code: null };
      const user = credential?.user ?? t.user;
      t.user = user;
      const info = credential && getAdditionalUserInfo(credential);
      const token = await getIdTokenResult(user);
      return {
        uid: user.uid,
        current: t.auth.currentUser === user,
        phoneNumber: user.phoneNumber,
        email: user.email,
        providers: user.providerData.map(({ providerId, uid: id, phoneNumber: phone }) => ({ providerId, uid: id, phoneNumber: phone })),
        credential: credential && { providerId: credential.providerId, operationType: credential.operationType },
        additionalUserInfo: info && { isNewUser: info.isNewUser, providerId: info.providerId },
        token: {
          sub: token.claims.sub,
          signInProvider: token.signInProvider,
          phoneNumber: token.claims.phone_number ?? null,
          identities: token.claims.firebase.identities,
        },
      };
    },
    { code, expectError, update },
  );

/** The phone entry the SDK's providerData shows for `number`. */
const phoneProvider = (number) => ({ providerId: 'phone', uid: number, phoneNumber: number });

test('signInWithPhoneNumber: the first code signs a new user up, the next one signs the same user in', async () => {
  const sendsBefore = sentTo('/v1/accounts:sendVerificationCode').length;
  const { verificationId } = await startPhone('signIn', phoneNumber);
  assert.match(verificationId, /^\S{20,}$/);
  // The number and the mock reCAPTCHA's token went out, as a real one would.
  const sends = sentTo('/v1/accounts:sendVerificationCode');
  assert.equal(sends.length, sendsBefore + 1);
  const send = sends.at(-1);
  assert.equal(send.phoneNumber, phoneNumber);
  assert.match(send.recaptchaToken, /^[A-Za-z0-9]{50}$/);

  const sms = await browser.smsCode(verificationId);
  assert.equal(sms.phoneNumber, phoneNumber);
  assert.match(sms.code, /^\d{6}$/);
  const first = await confirm(sms.code);
  const [request] = sentTo('/v1/accounts:signInWithPhoneNumber');
  assert.deepEqual(request, { sessionInfo: verificationId, code: sms.code });
  uid = first.uid;
  assert.ok(uid);
  assert.deepEqual(first, {
    uid,
    current: true,
    phoneNumber,
    email: null,
    providers: [phoneProvider(phoneNumber)],
    credential: { providerId: 'phone', operationType: 'signIn' },
    additionalUserInfo: { isNewUser: true, providerId: 'phone' },
    token: { sub: uid, signInProvider: 'phone', phoneNumber, identities: { phone: [phoneNumber] } },
  });

  // Signed out, the same number signs the same user in.
  await browser.run(() => firebase.auth.signOut(t.auth));
  const again = await startPhone('signIn', phoneNumber);
  const second = await confirm((await browser.smsCode(again.verificationId)).code);
  assert.deepEqual(
    { uid: second.uid, current: second.current, additionalUserInfo: second.additionalUserInfo, signInProvider: second.token.signInProvider },
    { uid, current: true, additionalUserInfo: { isNewUser: false, providerId: 'phone' }, signInProvider: 'phone' },
  );
});

test('a wrong code: auth/invalid-verification-code, then the right code still signs in', async () => {
  assert.ok(uid, 'sign-up failed above');
  await browser.run(() => firebase.auth.signOut(t.auth));
  const { verificationId } = await startPhone('signIn', phoneNumber);
  const { code } = await browser.smsCode(verificationId);

  const wrong = await confirm(wrongCode(code), { expectError: true });
  assert.equal(wrong.code, 'auth/invalid-verification-code', wrong.message);
  assert.equal(await browser.run(() => t.auth.currentUser), null);

  const signedIn = await confirm(code);
  assert.deepEqual(
    { uid: signedIn.uid, current: signedIn.current, isNewUser: signedIn.additionalUserInfo.isNewUser },
    { uid, current: true, isNewUser: false },
  );
});

test('updatePhoneNumber with PhoneAuthProvider.verifyPhoneNumber\'s verificationId changes the number', async () => {
  assert.ok(uid, 'sign-up failed above');
  const { verificationId } = await startPhone('verify', newPhoneNumber);
  const sms = await browser.smsCode(verificationId);
  assert.equal(sms.phoneNumber, newPhoneNumber);
  const updated = await confirm(sms.code, { update: verificationId });
  // The SDK sends the code with the user's ID token, as for a link.
  const request = sentTo('/v1/accounts:signInWithPhoneNumber').at(-1);
  assert.deepEqual(Object.keys(request).sort(), ['code', 'idToken', 'sessionInfo']);
  assert.equal(request.sessionInfo, verificationId);
  assert.deepEqual(
    { uid: updated.uid, phoneNumber: updated.phoneNumber, providers: updated.providers, tokenPhone: updated.token.phoneNumber },
    { uid, phoneNumber: newPhoneNumber, providers: [phoneProvider(newPhoneNumber)], tokenPhone: newPhoneNumber },
  );
  // The server keeps it: a reload (accounts:lookup) shows the new number.
  const reloaded = await browser.run(async () => {
    await firebase.auth.reload(t.user);
    return t.user.phoneNumber;
  });
  assert.equal(reloaded, newPhoneNumber);
});

test('reauthenticateWithPhoneNumber: the user\'s number reauthenticates it; a number of no account is auth/user-mismatch', async () => {
  assert.ok(uid, 'sign-up failed above');
  const { verificationId } = await startPhone('reauth', newPhoneNumber);
  const reauthenticated = await confirm((await browser.smsCode(verificationId)).code);
  const request = sentTo('/v1/accounts:signInWithPhoneNumber').at(-1);
  assert.equal(request.operation, 'REAUTH');
  assert.equal(request.idToken, undefined);
  assert.deepEqual(
    {
      uid: reauthenticated.uid,
      current: reauthenticated.current,
      credential: reauthenticated.credential,
      phoneNumber: reauthenticated.phoneNumber,
      signInProvider: reauthenticated.token.signInProvider,
    },
    { uid, current: true, credential: { providerId: 'phone', operationType: 'reauthenticate' }, phoneNumber: newPhoneNumber, signInProvider: 'phone' },
  );

  // A number no account has: the server's USER_NOT_FOUND, which the SDK reports as a mismatch;
  // the user stays signed in.
  const stranger = await startPhone('reauth', uniquePhone());
  const refused = await confirm((await browser.smsCode(stranger.verificationId)).code, { expectError: true });
  assert.equal(refused.code, 'auth/user-mismatch', refused.message);
  assert.equal(await browser.run(() => t.auth.currentUser?.uid), uid);
});

test('a phone-signed-in user cannot start MFA enrolment: auth/unsupported-first-factor', async () => {
  assert.ok(uid, 'sign-up failed above');
  const phone = await startPhone('enrol', uniquePhone(), { expectError: true });
  assert.equal(phone.code, 'auth/unsupported-first-factor', phone.message);
  assert.match(phone.message, /MFA is not available for the given first factor/);
  const start = sentTo('/v2/accounts/mfaEnrollment:start').at(-1);
  assert.ok(start.idToken && start.phoneEnrollmentInfo, JSON.stringify(start));

  const totp = await browser.run(async () => {
    const { multiFactor, TotpMultiFactorGenerator } = firebase.auth;
    return TotpMultiFactorGenerator.generateSecret(await multiFactor(t.user).getSession()).then(
      () => ({ code: null }),
      (e) => ({ code: e.code, message: e.message }),
    );
  });
  assert.equal(totp.code, 'auth/unsupported-first-factor', totp.message);
});

test('linkWithPhoneNumber on an email/password user; another account\'s number is refused', async () => {
  assert.ok(uid, 'sign-up failed above');
  const email = uniqueEmail('phone-link');
  const emailUid = await browser.run(async ({ email: address, password }) => {
    t.user = (await firebase.auth.createUserWithEmailAndPassword(t.auth, address, password)).user;
    return t.user.uid;
  }, { email, password: PASSWORD });

  // The phone user's number: the code is sent, but using it on this account fails, and the
  // account keeps no number. As Firebase (and its emulator) does, Tessera answers such a link
  // with 200 {temporaryProof, phoneNumber}, which the SDK's linkWithPhoneNumber turns into
  // auth/account-exists-with-different-credential.
  const taken = await startPhone('link', newPhoneNumber);
  const refused = await confirm((await browser.smsCode(taken.verificationId)).code, { expectError: true });
  assert.equal(refused.code, 'auth/account-exists-with-different-credential', refused.message);
  const untouched = await browser.run(async () => {
    await firebase.auth.reload(t.user);
    return { uid: t.auth.currentUser?.uid, phoneNumber: t.user.phoneNumber, providers: t.user.providerData.map((p) => p.providerId) };
  });
  assert.deepEqual(untouched, { uid: emailUid, phoneNumber: null, providers: ['password'] });

  // The error carries the credential (the temporary proof): it signs in to the account that
  // has the number, without another code.
  const switched = await browser.run(async () => {
    const { PhoneAuthProvider, signInWithCredential, updateCurrentUser } = firebase.auth;
    const credential = PhoneAuthProvider.credentialFromError(t.error);
    const result = await signInWithCredential(t.auth, credential);
    const signedIn = { uid: result.user.uid, phoneNumber: result.user.phoneNumber, providerId: result.providerId };
    // Back to the email user, for the link below (the SDK keeps a copy as the current user).
    await updateCurrentUser(t.auth, t.user);
    t.user = t.auth.currentUser;
    return signedIn;
  });
  assert.deepEqual(switched, { uid, phoneNumber: newPhoneNumber, providerId: 'phone' });
  const proofRequest = sentTo('/v1/accounts:signInWithPhoneNumber').at(-1);
  assert.deepEqual(Object.keys(proofRequest).sort(), ['phoneNumber', 'temporaryProof']);

  const number = uniquePhone();
  const { verificationId } = await startPhone('link', number);
  const linked = await confirm((await browser.smsCode(verificationId)).code);
  const request = sentTo('/v1/accounts:signInWithPhoneNumber').at(-1);
  assert.deepEqual(Object.keys(request).sort(), ['code', 'idToken', 'sessionInfo']);
  assert.deepEqual(
    { ...linked, providers: [...linked.providers].sort((a, b) => a.providerId.localeCompare(b.providerId)) },
    {
      uid: emailUid,
      current: true,
      phoneNumber: number,
      email,
      providers: [{ providerId: 'password', uid: email, phoneNumber: null }, phoneProvider(number)],
      credential: { providerId: 'phone', operationType: 'link' },
      additionalUserInfo: { isNewUser: false, providerId: 'phone' },
      // As in the Firebase emulator, the tokens of a link are a phone sign-in's.
      token: { sub: emailUid, signInProvider: 'phone', phoneNumber: number, identities: { email: [email], phone: [number] } },
    },
  );

  // With a number, the password may go (and the address with it, as in the emulator).
  const unlinked = await browser.run(async () => {
    const user = await firebase.auth.unlink(t.user, 'password');
    await firebase.auth.reload(user);
    return { email: user.email, phoneNumber: user.phoneNumber, providers: user.providerData.map((p) => p.providerId) };
  });
  assert.deepEqual(unlinked, { email: null, phoneNumber: number, providers: ['phone'] });
});

test('a user with second factors cannot link a number nor sign in with one: auth/unsupported-first-factor', async () => {
  const email = uniqueEmail('phone-mfa-first');
  const mfaPhone = uniquePhone();
  const mfaUid = await browser.run(async ({ email: address, password }) => {
    t.user = (await firebase.auth.createUserWithEmailAndPassword(t.auth, address, password)).user;
    return t.user.uid;
  }, { email, password: PASSWORD });
  // MFA needs a verified email: the administrator sets it, the SDK reloads the user.
  await browser.rest(`/v1/projects/${PROJECT}/accounts:update`, {
    method: 'POST',
    headers: { authorization: 'Bearer owner' },
    body: { localId: mfaUid, emailVerified: true },
  });
  assert.equal(
    await browser.run(async () => {
      await firebase.auth.reload(t.user);
      return t.user.emailVerified;
    }),
    true,
  );
  const enrolment = await startPhone('enrol', mfaPhone);
  const enrolled = await browser.run(async ({ verificationId, code }) => {
    const { multiFactor, PhoneAuthProvider, PhoneMultiFactorGenerator } = firebase.auth;
    await multiFactor(t.user).enroll(PhoneMultiFactorGenerator.assertion(PhoneAuthProvider.credential(verificationId, code)), 'Phone');
    return multiFactor(t.user).enrolledFactors.length;
  }, { verificationId: enrolment.verificationId, code: (await browser.smsCode(enrolment.verificationId)).code });
  assert.equal(enrolled, 1);

  // Linking a number: the code is sent, its use refused.
  const link = await startPhone('link', uniquePhone());
  const linkRefused = await confirm((await browser.smsCode(link.verificationId)).code, { expectError: true });
  assert.equal(linkRefused.code, 'auth/unsupported-first-factor', linkRefused.message);
  assert.match(linkRefused.message, /A phone number cannot be set as a first factor on an SMS based MFA user/);

  // With the number on the account (set by the administrator), no code is sent for it.
  await browser.rest(`/v1/projects/${PROJECT}/accounts:update`, {
    method: 'POST',
    headers: { authorization: 'Bearer owner' },
    body: { localId: mfaUid, phoneNumber: mfaPhone },
  });
  await browser.run(() => firebase.auth.signOut(t.auth));
  const signIn = await startPhone('signIn', mfaPhone, { expectError: true });
  assert.equal(signIn.code, 'auth/unsupported-first-factor', signIn.message);
  assert.match(signIn.message, /A phone number cannot be set as a first factor on an SMS based MFA user/);
  assert.equal(await browser.run(() => t.auth.currentUser), null);
});
