// Phone second factors (spec 4.7–4.11, 7.1) through the unmodified Firebase JS SDK in a browser:
// PhoneAuthProvider, PhoneMultiFactorGenerator and RecaptchaVerifier exist only in the SDK's
// browser build. In emulator mode the SDK renders a mock reCAPTCHA (it still asks the server for
// a site key, GET v1/recaptchaParams) and sends the mock's token as `recaptchaToken`; Tessera's
// dev mode accepts any. SMS codes come from the dev outbox hook.
//
// The tests run in order on one user: enrol, sign in, wrong codes, unenrol. The functions given
// to `browser.run` execute in the page; `window.t` carries SDK objects from one step to the next,
// starting with `t.auth` (see harness.mjs).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PASSWORD, PROJECT, uniqueEmail, uniquePhone, useBrowser } from './harness.mjs';

const browser = useBrowser();
const email = uniqueEmail('phone-mfa');
const phoneNumber = uniquePhone();
let uid;
let factorUid;

/** Six-digit codes that differ from `code` and from each other. */
const wrongCodes = (code, count) =>
  Array.from({ length: count }, (_, i) => String((Number(code) + (i + 1) * 111_111) % 1_000_000).padStart(6, '0'));

/** Request bodies the page sent to `path` (e.g. '/v2/accounts/mfaSignIn:start'), oldest first. */
const sentTo = (path) =>
  browser.requests.filter((request) => new URL(request.url()).pathname.endsWith(path)).map((request) => request.postDataJSON());

/**
 * In the page: PhoneAuthProvider.verifyPhoneNumber(options) with a fresh invisible
 * RecaptchaVerifier, resolving to the verificationId. `options` names a phone number (enrolment)
 * or the resolver's hint (sign-in); the session comes from the page state.
 */
const verifyPhoneNumber = (options) =>
  browser.run(async ({ phoneNumber: number, enrol }) => {
    const { multiFactor, PhoneAuthProvider, RecaptchaVerifier } = firebase.auth;
    // One verifier per call: after a verification the SDK resets the widget, and the mock
    // reCAPTCHA deletes a widget on reset, so a reused verifier would wait forever for a token.
    const verifier = new RecaptchaVerifier(t.auth, 'recaptcha', { size: 'invisible' });
    try {
      const phoneInfo = enrol
        ? { phoneNumber: number, session: await multiFactor(t.user).getSession() }
        : { multiFactorHint: t.hint, session: t.resolver.session };
      return await new PhoneAuthProvider(t.auth).verifyPhoneNumber(phoneInfo, verifier);
    } finally {
      verifier.clear();
    }
  }, options);

/** In the page: signOut, then password sign-in, which must stop at the second factor. */
const passwordStep = () =>
  browser.run(async ({ email: address, password }) => {
    const { getMultiFactorResolver, signInWithEmailAndPassword, signOut } = firebase.auth;
    await signOut(t.auth);
    const error = await signInWithEmailAndPassword(t.auth, address, password).then(
      () => null,
      (e) => e,
    );
    if (error?.code !== 'auth/multi-factor-auth-required') return { code: error?.code ?? 'signed in' };
    t.resolver = getMultiFactorResolver(t.auth, error);
    [t.hint] = t.resolver.hints;
    return {
      code: error.code,
      operationType: error.customData.operationType,
      currentUser: t.auth.currentUser?.uid ?? null,
      hints: t.resolver.hints.map(({ uid, factorId, displayName, phoneNumber }) => ({ uid, factorId, displayName, phoneNumber })),
    };
  }, { email, password: PASSWORD });

test('phone enrolment: verifyPhoneNumber with a session, the SMS code, enroll', async () => {
  const signedUp = await browser.run(async ({ email: address, password }) => {
    const { createUserWithEmailAndPassword } = firebase.auth;
    t.user = (await createUserWithEmailAndPassword(t.auth, address, password)).user;
    return { uid: t.user.uid, emailVerified: t.user.emailVerified };
  }, { email, password: PASSWORD });
  assert.equal(signedUp.emailVerified, false);
  uid = signedUp.uid;

  // MFA needs a verified email: the administrator sets it, the SDK reloads the user.
  await browser.rest(`/v1/projects/${PROJECT}/accounts:update`, {
    method: 'POST',
    headers: { authorization: 'Bearer owner' },
    body: { localId: uid, emailVerified: true },
  });
  assert.equal(
    await browser.run(async () => {
      await firebase.auth.reload(t.user);
      return t.user.emailVerified;
    }),
    true,
  );

  const verificationId = await verifyPhoneNumber({ phoneNumber, enrol: true });
  assert.match(verificationId, /^\S{20,}$/);
  // The mock reCAPTCHA's token went out with the number, as a real one would.
  const [start] = sentTo('/v2/accounts/mfaEnrollment:start');
  assert.equal(start.phoneEnrollmentInfo.phoneNumber, phoneNumber);
  assert.match(start.phoneEnrollmentInfo.recaptchaToken, /^[A-Za-z0-9]{50}$/);

  const sms = await browser.smsCode(verificationId);
  assert.equal(sms.phoneNumber, phoneNumber);
  assert.match(sms.code, /^\d{6}$/);

  const enrolled = await browser.run(async ({ verificationId: id, code }) => {
    const { getIdTokenResult, multiFactor, PhoneAuthProvider, PhoneMultiFactorGenerator } = firebase.auth;
    const assertion = PhoneMultiFactorGenerator.assertion(PhoneAuthProvider.credential(id, code));
    await multiFactor(t.user).enroll(assertion, 'Work phone');
    const token = await getIdTokenResult(t.user);
    return {
      factors: multiFactor(t.user).enrolledFactors.map(({ uid, factorId, phoneNumber, displayName, enrollmentTime }) => ({
        uid,
        factorId,
        phoneNumber,
        displayName,
        enrollmentTime,
      })),
      signInSecondFactor: token.signInSecondFactor,
      secondFactorIdentifier: token.claims.firebase.second_factor_identifier,
    };
  }, { verificationId, code: sms.code });

  assert.equal(enrolled.factors.length, 1, JSON.stringify(enrolled.factors));
  const [factor] = enrolled.factors;
  assert.equal(factor.factorId, 'phone');
  assert.equal(factor.phoneNumber, phoneNumber);
  assert.equal(factor.displayName, 'Work phone');
  assert.ok(factor.uid);
  assert.ok(Math.abs(Date.parse(factor.enrollmentTime) - Date.now()) < 60_000, factor.enrollmentTime);
  // Enrolment issues new tokens that record the second factor.
  assert.equal(enrolled.signInSecondFactor, 'phone');
  assert.equal(enrolled.secondFactorIdentifier, factor.uid);
  factorUid = factor.uid;
});

test('MFA sign-in: auth/multi-factor-auth-required, a masked phone hint, resolveSignIn with the SMS code', async () => {
  assert.ok(factorUid, 'enrolment failed above');
  const step = await passwordStep();
  assert.deepEqual(step, {
    code: 'auth/multi-factor-auth-required',
    operationType: 'signIn',
    currentUser: null,
    hints: [{ uid: factorUid, factorId: 'phone', displayName: 'Work phone', phoneNumber: `+*******${phoneNumber.slice(-4)}` }],
  });

  const verificationId = await verifyPhoneNumber({ enrol: false });
  const [start] = sentTo('/v2/accounts/mfaSignIn:start');
  assert.equal(start.mfaEnrollmentId, factorUid);
  assert.match(start.phoneSignInInfo.recaptchaToken, /^[A-Za-z0-9]{50}$/);
  const sms = await browser.smsCode(verificationId);
  assert.equal(sms.phoneNumber, phoneNumber);

  const signedIn = await browser.run(async ({ verificationId: id, code }) => {
    const { getIdTokenResult, PhoneAuthProvider, PhoneMultiFactorGenerator } = firebase.auth;
    const { user } = await t.resolver.resolveSignIn(PhoneMultiFactorGenerator.assertion(PhoneAuthProvider.credential(id, code)));
    t.user = user;
    const { signInProvider, signInSecondFactor, claims } = await getIdTokenResult(user);
    return {
      uid: user.uid,
      current: t.auth.currentUser === user,
      signInProvider,
      signInSecondFactor,
      secondFactorIdentifier: claims.firebase.second_factor_identifier,
    };
  }, { verificationId, code: sms.code });
  assert.deepEqual(signedIn, {
    uid,
    current: true,
    signInProvider: 'password',
    signInSecondFactor: 'phone',
    secondFactorIdentifier: factorUid,
  });

  // A forced refresh goes to the token endpoint and keeps the second-factor claims.
  const refreshesBefore = sentTo('/securetoken.googleapis.com/v1/token').length;
  const refreshed = await browser.run(async () => {
    const { getIdTokenResult } = firebase.auth;
    await t.user.getIdToken(true);
    const { signInSecondFactor, claims } = await getIdTokenResult(t.user);
    return { signInSecondFactor, secondFactorIdentifier: claims.firebase.second_factor_identifier, sub: claims.sub };
  });
  assert.equal(sentTo('/securetoken.googleapis.com/v1/token').length, refreshesBefore + 1);
  assert.deepEqual(refreshed, { signInSecondFactor: 'phone', secondFactorIdentifier: factorUid, sub: uid });
});

test('wrong SMS codes: auth/invalid-verification-code four times, then the right code (the fifth try) signs in', async () => {
  assert.ok(factorUid, 'enrolment failed above');
  assert.equal((await passwordStep()).code, 'auth/multi-factor-auth-required');
  const verificationId = await verifyPhoneNumber({ enrol: false });
  const { code } = await browser.smsCode(verificationId);

  const outcomes = await browser.run(async ({ verificationId: id, codes }) => {
    const { getIdTokenResult, PhoneAuthProvider, PhoneMultiFactorGenerator } = firebase.auth;
    const results = [];
    for (const attempt of codes) {
      const assertion = PhoneMultiFactorGenerator.assertion(PhoneAuthProvider.credential(id, attempt));
      results.push(
        await t.resolver.resolveSignIn(assertion).then(
          async ({ user }) => {
            t.user = user;
            return { uid: user.uid, signInSecondFactor: (await getIdTokenResult(user)).signInSecondFactor };
          },
          (e) => e.code,
        ),
      );
    }
    return results;
  }, { verificationId, codes: [...wrongCodes(code, 4), code] });

  assert.deepEqual(outcomes, [
    'auth/invalid-verification-code',
    'auth/invalid-verification-code',
    'auth/invalid-verification-code',
    'auth/invalid-verification-code',
    { uid, signInSecondFactor: 'phone' },
  ]);
});

test('unenroll: enrolledFactors is empty and password sign-in gives the user directly', async () => {
  assert.ok(factorUid, 'enrolment failed above');
  const result = await browser.run(async ({ email: address, password }) => {
    const { getIdTokenResult, multiFactor, signInWithEmailAndPassword, signOut } = firebase.auth;
    await multiFactor(t.user).unenroll(t.hint);
    const factorsAfter = [...multiFactor(t.user).enrolledFactors];
    await signOut(t.auth);
    const { user } = await signInWithEmailAndPassword(t.auth, address, password);
    return { factorsAfter, uid: user.uid, signInSecondFactor: (await getIdTokenResult(user)).signInSecondFactor };
  }, { email, password: PASSWORD });
  assert.deepEqual(result, { factorsAfter: [], uid, signInSecondFactor: null });
});
