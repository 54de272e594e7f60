import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GoogleAuthProvider, OAuthProvider, reauthenticateWithCredential, signInWithCredential, getAdditionalUserInfo, getIdTokenResult, unlink, reload, FacebookAuthProvider, TwitterAuthProvider, updateEmail } from 'firebase/auth';
import { hex, PASSWORD, uniqueEmail, useTessera } from './server.mjs';
const tessera = useTessera();
const fake = (c) => [{ alg: 'none', typ: 'JWT' }, c].map((p) => Buffer.from(JSON.stringify(p)).toString('base64url')).join('.') + '.';
const show = async (p) => { try { const r = await p; return r; } catch (e) { console.log('ERR', e.code, e.message, JSON.stringify(e.customData?._tokenResponse ?? e.customData)); return e; } };

test('probe', async () => {
  const acct = { sub: `g-${hex()}`, email: uniqueEmail('g'), email_verified: true };
  const { user } = await signInWithCredential(tessera.client(), GoogleAuthProvider.credential(fake(acct)));
  const re = await show(reauthenticateWithCredential(user, GoogleAuthProvider.credential(fake(acct))));
  console.log('reauth same', re.operationType, re.user?.uid === user.uid, JSON.stringify(getAdditionalUserInfo(re)));
  const other = { sub: `g-${hex()}`, email: uniqueEmail('g2'), email_verified: true };
  await show(reauthenticateWithCredential(user, GoogleAuthProvider.credential(fake(other))));
  try { const f = await tessera.admin.getUserByProviderUid('google.com', other.sub); console.log('reauth with unknown account created user', f.uid); } catch (e) { console.log('no user created', e.code); }

  // disabled
  await tessera.admin.updateUser(user.uid, { disabled: true });
  await show(signInWithCredential(tessera.client(), GoogleAuthProvider.credential(fake(acct))));
  await tessera.admin.updateUser(user.uid, { disabled: false });

  // apple with "true"
  const apple = { sub: `a-${hex()}`, email: uniqueEmail('apple'), email_verified: 'true' };
  const ac = await show(signInWithCredential(tessera.client(), new OAuthProvider('apple.com').credential({ idToken: fake(apple), rawNonce: 'nonce' })));
  console.log('apple', ac.user?.emailVerified, JSON.stringify(getAdditionalUserInfo(ac)));

  // facebook / twitter
  const fb = { sub: `f-${hex()}`, email: uniqueEmail('fb'), email_verified: false, name: 'FB' };
  const fc = await show(signInWithCredential(tessera.client(), FacebookAuthProvider.credential(JSON.stringify(fb))));
  console.log('fb', fc.user?.email, fc.user?.emailVerified, JSON.stringify(getAdditionalUserInfo(fc)));
  const tw = { sub: `t-${hex()}`, screen_name: 'tweety' };
  const tc = await show(signInWithCredential(tessera.client(), TwitterAuthProvider.credential(JSON.stringify(tw), 'secret')));
  console.log('tw', JSON.stringify(getAdditionalUserInfo(tc)), JSON.stringify(TwitterAuthProvider.credentialFromResult(tc)));

  // tenant
  const tenant = await tessera.admin.tenantManager().createTenant({ displayName: 'Idp-Tenant' });
  const tauth = tessera.client(tenant.tenantId);
  const tcred = await show(signInWithCredential(tauth, GoogleAuthProvider.credential(fake(acct))));
  console.log('tenant', tcred.user?.tenantId, tcred.user?.uid !== user.uid, JSON.stringify(getAdditionalUserInfo(tcred)), (await getIdTokenResult(tcred.user)).claims.firebase);

  // unlink last provider of google-only user
  const g3 = { sub: `g-${hex()}`, email: uniqueEmail('g3'), email_verified: true };
  const { user: u3 } = await signInWithCredential(tessera.client(), GoogleAuthProvider.credential(fake(g3)));
  await show(unlink(u3, 'google.com'));
  await reload(u3);
  console.log('after unlink', JSON.stringify(u3.providerData), u3.email, u3.isAnonymous, (await getIdTokenResult(u3, true)).claims.firebase);
  const again = await show(signInWithCredential(tessera.client(), GoogleAuthProvider.credential(fake(g3))));
  console.log('again', again.user?.uid === u3.uid, JSON.stringify(getAdditionalUserInfo(again)));

  // upper-case email takeover
  const { user: pu, email } = await tessera.signUp();
  const up = { sub: `g-${hex()}`, email: email.toUpperCase(), email_verified: false };
  await show(signInWithCredential(tessera.client(), GoogleAuthProvider.credential(fake(up))));

  // raw response dump
  const ans = await tessera.rest('/identitytoolkit.googleapis.com/v1/accounts:signInWithIdp?key=dev-api-key', { method: 'POST', body: { requestUri: 'http://localhost', postBody: `id_token=${fake({ sub: 'x-' + hex(), email: email, email_verified: false })}&providerId=google.com`, returnSecureToken: true } });
  console.log('needConfirmation', JSON.stringify(ans));
});
