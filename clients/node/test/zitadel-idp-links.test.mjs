// ZITADEL's links to identity providers (user service v2: AddIDPLink, ListIDPLinks,
// RemoveIDPLink, AddHumanUser's idpLinks, IDP among ListAuthenticationMethodTypes) through the
// unmodified official Node clients: @zitadel/client on its gRPC (h2c) and Connect (JSON and
// binary) transports, and @zitadel/node's v2beta user service over gRPC. Management v1 shows the
// same links (ListHumanLinkedIDPs, RemoveHumanLinkedIDP) through both clients: @zitadel/client's
// createManagementServiceClient and @zitadel/node's createManagementClient.
//
// Tessera has no IdP configurations of ZITADEL's kind: a link's idpId is Firebase's provider id
// (google.com, oidc.corp, …) and its userId the account's id there (the `sub`). The links are
// Identity Toolkit's accounts at identity providers: a user signed up through
// accounts:signInWithIdp has one, and an account linked through ZITADEL signs in through
// accounts:signInWithIdp (dev mode's fake credentials: the provider's claims as a JSON id_token)
// to the same user, and shows in accounts:lookup's providerUserInfo.
//
// The caller is dev mode's administrator with the PAT the server writes to <data-dir>/admin.pat.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { Code } from '@connectrpc/connect';
import { createManagementServiceClient } from '@zitadel/client/v1';
import { createUserServiceClient } from '@zitadel/client/v2';
import {
  createAccessTokenInterceptor,
  createManagementClient,
  createUserClient,
} from '@zitadel/node/dist/api/index.js';
import { IDPType as NodeIDPType } from '@zitadel/node/dist/api/generated/zitadel/idp.js';
import { AuthenticationMethodType as BetaMethodType } from '@zitadel/node/dist/api/generated/zitadel/user/v2beta/user_service.js';
import { IDPType } from '@zitadel/proto/zitadel/idp_pb.js';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { Status } from 'nice-grpc';

import { assertZitadelError, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

const LINKED_ELSEWHERE = 'The external user is linked to another user';
const NO_SUCH_LINK = 'The user has no such link to an identity provider';
const INCOMPLETE_LINK = 'The link names no identity provider or no external user';

const TRANSPORTS = zitadelTransports(tessera);

const IDENTITY_TOOLKIT = '/identitytoolkit.googleapis.com/v1';

/**
 * accounts:signInWithIdp with an account at `providerId` whose claims are `claims` (as the JS SDK
 * sends a credential: the id_token form-encoded in postBody); resolves to the response body.
 */
const signInWithIdp = (providerId, claims) =>
  tessera.rest(`${IDENTITY_TOOLKIT}/accounts:signInWithIdp?key=dev-api-key`, {
    method: 'POST',
    body: {
      requestUri: 'http://localhost',
      postBody: new URLSearchParams({ id_token: JSON.stringify(claims), providerId }).toString(),
      returnSecureToken: true,
    },
  });

/** The user an ID token is for, as accounts:lookup shows it. */
async function lookup(idToken) {
  const { users } = await tessera.rest(`${IDENTITY_TOOLKIT}/accounts:lookup?key=dev-api-key`, {
    method: 'POST',
    body: { idToken },
  });
  assert.equal(users?.length, 1, JSON.stringify(users));
  return users[0];
}

/** A fresh password user from accounts:signUp: its email and ZITADEL user id (the localId). */
async function passwordUser() {
  const email = uniqueEmail('zitadel-idp');
  const { localId } = await tessera.rest(`${IDENTITY_TOOLKIT}/accounts:signUp?key=dev-api-key`, {
    method: 'POST',
    body: { email, password: PASSWORD, returnSecureToken: true },
  });
  assert.ok(localId);
  return { email, userId: localId };
}

/** A Google account: a fresh `sub` and verified address. */
const googleAccount = () => ({ sub: `g-${hex()}`, email: uniqueEmail('google'), email_verified: true });

/** A fresh user signed up through signInWithIdp with a new Google account: its id and the account. */
async function googleUser() {
  const account = googleAccount();
  const signedUp = await signInWithIdp('google.com', account);
  assert.equal(signedUp.isNewUser, true);
  return { userId: signedUp.localId, account };
}

/** User service v2's ListIDPLinks: the links as { idpId, userId, userName }, checked against details.totalResult. */
async function idpLinks(users, userId) {
  const listed = await users.listIDPLinks({ userId });
  const result = listed.result.map(({ idpId, userId: linked, userName }) => ({ idpId, userId: linked, userName }));
  assert.equal(listed.details?.totalResult, BigInt(result.length));
  return result;
}

/**
 * Management v1's IDPUserLink for user `userId`'s v2 link `link`: Tessera's idpId is the Firebase
 * provider id, which is also its name, and every provider is an OIDC one.
 */
const userLink = (userId, link, idpType = IDPType.IDP_TYPE_OIDC) => ({
  userId,
  idpId: link.idpId,
  idpName: link.idpId,
  providedUserId: link.userId,
  providedUserName: link.userName,
  idpType,
});

/** The six fields of IDPUserLinks, in the order listed. */
const userLinkFields = (result) =>
  result.map(({ userId, idpId, idpName, providedUserId, providedUserName, idpType }) => ({
    userId,
    idpId,
    idpName,
    providedUserId,
    providedUserName,
    idpType,
  }));

/**
 * `remove` (v2's RemoveIDPLink or v1's RemoveHumanLinkedIDP) refuses every link `user` lacks:
 * another account at the same provider, the same id at another provider, `stranger`'s link.
 */
async function assertLackedLinksRefused(user, stranger, remove) {
  for (const [idpId, linkedUserId] of [
    ['google.com', `g-${hex()}`],
    ['oidc.corp', user.account.sub],
    ['google.com', stranger.account.sub],
  ]) {
    await assertZitadelError(remove({ userId: user.userId, idpId, linkedUserId }), Code.NotFound, NO_SUCH_LINK, 'TESSERA-IDP02');
  }
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`links to identity providers through @zitadel/client over ${name}`, () => {
    let users;

    before(() => {
      users = createUserServiceClient(transport(tessera.adminPat));
    });

    /** ListIDPLinks: the links as { idpId, userId, userName }, checked against details.totalResult. */
    const links = (userId) => idpLinks(users, userId);

    /** ListAuthenticationMethodTypes. */
    const methods = async (userId) => (await users.listAuthenticationMethodTypes({ userId })).authMethodTypes;

    test('a user signed up by signInWithIdp: ListIDPLinks shows its Google account, and IDP is its one method', async () => {
      const { userId, account } = await googleUser();
      assert.deepEqual(await links(userId), [{ idpId: 'google.com', userId: account.sub, userName: account.email }]);
      assert.deepEqual(await methods(userId), [AuthenticationMethodType.IDP]);
    });

    describe('a password user given a link by AddIDPLink', () => {
      let user; // { email, userId }
      const link = { idpId: 'oidc.corp', userId: `corp-${hex()}`, userName: `ada-${hex(3)}` };
      let linked = false;

      test('AddIDPLink: ListIDPLinks shows the link, and IDP joins PASSWORD among the methods', async () => {
        user = await passwordUser();
        assert.deepEqual(await links(user.userId), []);
        assert.deepEqual(await methods(user.userId), [AuthenticationMethodType.PASSWORD]);

        const added = await users.addIDPLink({ userId: user.userId, idpLink: link });
        assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
        linked = true;
        assert.deepEqual(await links(user.userId), [link]);
        assert.deepEqual(await methods(user.userId), [AuthenticationMethodType.PASSWORD, AuthenticationMethodType.IDP]);
      });

      test('the linked account signs in through signInWithIdp to the same user; accounts:lookup lists it', async () => {
        assert.ok(linked, 'AddIDPLink failed above');
        const signedIn = await signInWithIdp('oidc.corp', { sub: link.userId, screen_name: link.userName });
        assert.equal(signedIn.localId, user.userId);
        assert.equal(signedIn.isNewUser, false);
        assert.equal(signedIn.providerId, 'oidc.corp');

        const account = await lookup(signedIn.idToken);
        assert.deepEqual({ localId: account.localId, email: account.email }, { localId: user.userId, email: user.email });
        assert.deepEqual(account.providerUserInfo.map((info) => info.providerId).sort(), ['oidc.corp', 'password']);
        assert.deepEqual(
          account.providerUserInfo.filter((info) => info.providerId === 'oidc.corp'),
          [{ providerId: 'oidc.corp', rawId: link.userId, federatedId: link.userId, screenName: link.userName }],
        );
        // The sign-in changed nothing ZITADEL sees.
        assert.deepEqual(await links(user.userId), [link]);
      });

      test('RemoveIDPLink: the link and IDP are gone, and the account then signs up a new user', async () => {
        assert.ok(linked, 'AddIDPLink failed above');
        const removed = await users.removeIDPLink({ userId: user.userId, idpId: link.idpId, linkedUserId: link.userId });
        assert.ok(removed.details?.resourceOwner, 'details.resourceOwner');
        assert.deepEqual(await links(user.userId), []);
        assert.deepEqual(await methods(user.userId), [AuthenticationMethodType.PASSWORD]);

        const signedIn = await signInWithIdp('oidc.corp', { sub: link.userId, screen_name: link.userName });
        assert.equal(signedIn.isNewUser, true);
        assert.notEqual(signedIn.localId, user.userId);
        assert.deepEqual(await links(user.userId), []);
      });
    });

    test('AddHumanUser with idpLinks: the link is listed, IDP is its one method, and it signs in to the new user', async () => {
      const google = googleAccount();
      const link = { idpId: 'google.com', userId: google.sub, userName: google.email };
      // The user's own address is not the Google one: only the link leads the sign-in to it.
      const added = await users.addHumanUser({
        profile: { givenName: 'Ada', familyName: 'Lovelace' },
        email: { email: uniqueEmail('zitadel-idp-human'), verification: { case: 'isVerified', value: true } },
        idpLinks: [link],
      });
      assert.ok(added.userId);
      assert.deepEqual(await links(added.userId), [link]);
      assert.deepEqual(await methods(added.userId), [AuthenticationMethodType.IDP]);

      const signedIn = await signInWithIdp('google.com', google);
      assert.equal(signedIn.localId, added.userId);
      assert.equal(signedIn.isNewUser, false);
      assert.deepEqual(await links(added.userId), [link]);
    });

    test('AddIDPLink of an account another user holds: AlreadyExists "… linked to another user (TESSERA-IDP01)", neither user changed', async () => {
      const holder = await googleUser();
      const other = await passwordUser();
      const held = { idpId: 'google.com', userId: holder.account.sub, userName: holder.account.email };
      await assertZitadelError(
        users.addIDPLink({ userId: other.userId, idpLink: held }),
        Code.AlreadyExists,
        LINKED_ELSEWHERE,
        'TESSERA-IDP01',
      );
      assert.deepEqual(await links(other.userId), []);
      assert.deepEqual(await methods(other.userId), [AuthenticationMethodType.PASSWORD]);
      assert.deepEqual(await links(holder.userId), [held]);
      // The account still signs in to its holder.
      assert.equal((await signInWithIdp('google.com', holder.account)).localId, holder.userId);
    });

    test('AddIDPLink with no idpId, no userId or no link: InvalidArgument "… (TESSERA-IDP03)", nothing linked', async () => {
      const user = await passwordUser();
      const sub = `corp-${hex()}`;
      for (const idpLink of [
        { idpId: '', userId: sub, userName: 'ada' },
        { idpId: 'oidc.corp', userId: '', userName: 'ada' },
        undefined,
      ]) {
        await assertZitadelError(
          users.addIDPLink({ userId: user.userId, idpLink }),
          Code.InvalidArgument,
          INCOMPLETE_LINK,
          'TESSERA-IDP03',
        );
      }
      assert.deepEqual(await links(user.userId), []);
      assert.deepEqual(await methods(user.userId), [AuthenticationMethodType.PASSWORD]);
      // Nobody holds the account: it signs a new user up.
      const signedIn = await signInWithIdp('oidc.corp', { sub });
      assert.equal(signedIn.isNewUser, true);
      assert.notEqual(signedIn.localId, user.userId);
    });

    test('RemoveIDPLink of a link the user lacks: NotFound "… no such link … (TESSERA-IDP02)", every link kept', async () => {
      const user = await googleUser();
      const stranger = await googleUser();
      const own = { idpId: 'google.com', userId: user.account.sub, userName: user.account.email };
      const theirs = { idpId: 'google.com', userId: stranger.account.sub, userName: stranger.account.email };
      await assertLackedLinksRefused(user, stranger, (request) => users.removeIDPLink(request));
      assert.deepEqual(await links(user.userId), [own]);
      assert.deepEqual(await links(stranger.userId), [theirs]);
      assert.equal((await signInWithIdp('google.com', user.account)).localId, user.userId);
      assert.equal((await signInWithIdp('google.com', stranger.account)).localId, stranger.userId);
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`management v1's linked identity providers through @zitadel/client over ${name}`, () => {
    let users;
    let management;

    before(() => {
      users = createUserServiceClient(transport(tessera.adminPat));
      management = createManagementServiceClient(transport(tessera.adminPat));
    });

    /** ListHumanLinkedIDPs: the links' six fields, checked against details.totalResult. */
    async function linkedIDPs(userId) {
      const listed = await management.listHumanLinkedIDPs({ userId });
      assert.equal(listed.details?.totalResult, BigInt(listed.result.length));
      return userLinkFields(listed.result);
    }

    /** ListAuthenticationMethodTypes. */
    const methods = async (userId) => (await users.listAuthenticationMethodTypes({ userId })).authMethodTypes;

    test("a user signed up by signInWithIdp: ListHumanLinkedIDPs shows its Google account, all six fields, as ListIDPLinks does", async () => {
      const { userId, account } = await googleUser();
      const link = { idpId: 'google.com', userId: account.sub, userName: account.email };
      assert.deepEqual(await linkedIDPs(userId), [
        {
          userId,
          idpId: 'google.com',
          idpName: 'google.com',
          providedUserId: account.sub,
          providedUserName: account.email,
          idpType: IDPType.IDP_TYPE_OIDC,
        },
      ]);
      assert.deepEqual(await idpLinks(users, userId), [link]);
    });

    test('AddIDPLink, then RemoveHumanLinkedIDP: listed by ListHumanLinkedIDPs, then gone from v1 and v2, and the account signs up a new user', async () => {
      const user = await passwordUser();
      const link = { idpId: 'oidc.corp', userId: `corp-${hex()}`, userName: `ada-${hex(3)}` };
      assert.deepEqual(await linkedIDPs(user.userId), []);

      await users.addIDPLink({ userId: user.userId, idpLink: link });
      assert.deepEqual(await linkedIDPs(user.userId), [userLink(user.userId, link)]);
      assert.deepEqual(await methods(user.userId), [AuthenticationMethodType.PASSWORD, AuthenticationMethodType.IDP]);

      const removed = await management.removeHumanLinkedIDP({
        userId: user.userId,
        idpId: link.idpId,
        linkedUserId: link.userId,
      });
      assert.ok(removed.details?.resourceOwner, 'details.resourceOwner');
      assert.deepEqual(await linkedIDPs(user.userId), []);
      assert.deepEqual(await idpLinks(users, user.userId), []);
      assert.deepEqual(await methods(user.userId), [AuthenticationMethodType.PASSWORD]);

      const signedIn = await signInWithIdp('oidc.corp', { sub: link.userId, screen_name: link.userName });
      assert.equal(signedIn.isNewUser, true);
      assert.notEqual(signedIn.localId, user.userId);
    });

    test("RemoveHumanLinkedIDP of one of two links: the other stays in v1 and v2 and still signs in to the user", async () => {
      const { userId, account } = await googleUser();
      const google = { idpId: 'google.com', userId: account.sub, userName: account.email };
      const corp = { idpId: 'oidc.corp', userId: `corp-${hex()}`, userName: `ada-${hex(3)}` };
      await users.addIDPLink({ userId, idpLink: corp });
      // v1 lists the links in the order v2 does.
      const both = await idpLinks(users, userId);
      assert.deepEqual(
        [...both].sort((a, b) => a.idpId.localeCompare(b.idpId)),
        [google, corp],
      );
      assert.deepEqual(await linkedIDPs(userId), both.map((link) => userLink(userId, link)));

      await management.removeHumanLinkedIDP({ userId, idpId: 'google.com', linkedUserId: account.sub });
      assert.deepEqual(await linkedIDPs(userId), [userLink(userId, corp)]);
      assert.deepEqual(await idpLinks(users, userId), [corp]);
      assert.deepEqual(await methods(userId), [AuthenticationMethodType.IDP]);
      assert.equal((await signInWithIdp('oidc.corp', { sub: corp.userId })).localId, userId);
    });

    test('RemoveHumanLinkedIDP of a link the user lacks: NotFound "… no such link … (TESSERA-IDP02)", every link kept', async () => {
      const user = await googleUser();
      const stranger = await googleUser();
      const own = { idpId: 'google.com', userId: user.account.sub, userName: user.account.email };
      const theirs = { idpId: 'google.com', userId: stranger.account.sub, userName: stranger.account.email };
      await assertLackedLinksRefused(user, stranger, (request) => management.removeHumanLinkedIDP(request));
      assert.deepEqual(await linkedIDPs(user.userId), [userLink(user.userId, own)]);
      assert.deepEqual(await linkedIDPs(stranger.userId), [userLink(stranger.userId, theirs)]);
      assert.deepEqual(await idpLinks(users, user.userId), [own]);
      assert.deepEqual(await idpLinks(users, stranger.userId), [theirs]);
      assert.equal((await signInWithIdp('google.com', user.account)).localId, user.userId);
      assert.equal((await signInWithIdp('google.com', stranger.account)).localId, stranger.userId);
    });
  });
}

describe('links to identity providers through @zitadel/node (v2beta over gRPC)', () => {
  let users;

  before(() => {
    users = createUserClient(tessera.baseUrl, createAccessTokenInterceptor(tessera.adminPat));
  });

  test('AddHumanUser with idpLinks, then AddIDPLink: both accounts sign in to the user, IDP among its methods', async () => {
    const google = googleAccount();
    const corp = `corp-${hex()}`;
    const added = await users.addHumanUser({
      profile: { givenName: 'Node', familyName: 'Client' },
      email: { email: uniqueEmail('zitadel-node-idp'), isVerified: true },
      password: { password: PASSWORD, changeRequired: false },
      idpLinks: [{ idpId: 'google.com', userId: google.sub, userName: google.email }],
    });
    assert.match(added.userId, /^\d+$/);
    await users.addIDPLink({ userId: added.userId, idpLink: { idpId: 'oidc.corp', userId: corp, userName: 'ada' } });

    const { authMethodTypes } = await users.listAuthenticationMethodTypes({ userId: added.userId });
    assert.deepEqual(authMethodTypes, [
      BetaMethodType.AUTHENTICATION_METHOD_TYPE_PASSWORD,
      BetaMethodType.AUTHENTICATION_METHOD_TYPE_IDP,
    ]);
    assert.equal((await signInWithIdp('google.com', google)).localId, added.userId);
    assert.equal((await signInWithIdp('oidc.corp', { sub: corp })).localId, added.userId);
  });

  test("AddIDPLink's refusals arrive as gRPC statuses: ALREADY_EXISTS (TESSERA-IDP01), INVALID_ARGUMENT (TESSERA-IDP03)", async () => {
    const holder = await googleUser();
    const other = await passwordUser();
    await assert.rejects(
      users.addIDPLink({ userId: other.userId, idpLink: { idpId: 'google.com', userId: holder.account.sub, userName: '' } }),
      (error) => {
        assert.equal(error.code, Status.ALREADY_EXISTS);
        assert.equal(error.details, `${LINKED_ELSEWHERE} (TESSERA-IDP01)`);
        return true;
      },
    );
    await assert.rejects(
      users.addIDPLink({ userId: other.userId, idpLink: { idpId: 'oidc.corp', userId: '', userName: 'ada' } }),
      (error) => {
        assert.equal(error.code, Status.INVALID_ARGUMENT);
        assert.equal(error.details, `${INCOMPLETE_LINK} (TESSERA-IDP03)`);
        return true;
      },
    );
    const { authMethodTypes } = await users.listAuthenticationMethodTypes({ userId: other.userId });
    assert.deepEqual(authMethodTypes, [BetaMethodType.AUTHENTICATION_METHOD_TYPE_PASSWORD]);
    assert.equal((await signInWithIdp('google.com', holder.account)).localId, holder.userId);
  });
});

describe("management v1's linked identity providers through @zitadel/node (gRPC)", () => {
  let users;
  let management;
  let usersV2; // @zitadel/client's v2 user service, for ListIDPLinks (v2beta's client has none)

  before(() => {
    const auth = createAccessTokenInterceptor(tessera.adminPat);
    users = createUserClient(tessera.baseUrl, auth);
    management = createManagementClient(tessera.baseUrl, auth);
    usersV2 = createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat));
  });

  /** ListHumanLinkedIDPs: the links' six fields, checked against details.totalResult (a Long). */
  async function linkedIDPs(userId) {
    const listed = await management.listHumanLinkedIDPs({ userId });
    assert.equal(listed.details?.totalResult?.toString(), String(listed.result.length));
    return userLinkFields(listed.result);
  }

  test('ListHumanLinkedIDPs shows an AddIDPLink link and a signInWithIdp one, all six fields; RemoveHumanLinkedIDP removes them from v1 and v2', async () => {
    const { userId, account } = await googleUser();
    const google = { idpId: 'google.com', userId: account.sub, userName: account.email };
    assert.deepEqual(await linkedIDPs(userId), [userLink(userId, google, NodeIDPType.IDP_TYPE_OIDC)]);
    const corp = { idpId: 'oidc.corp', userId: `corp-${hex()}`, userName: 'ada' };
    await users.addIDPLink({ userId, idpLink: corp });
    const both = await idpLinks(usersV2, userId);
    assert.equal(both.length, 2);
    assert.deepEqual(await linkedIDPs(userId), both.map((link) => userLink(userId, link, NodeIDPType.IDP_TYPE_OIDC)));

    for (const link of [google, corp]) {
      const removed = await management.removeHumanLinkedIDP({ userId, idpId: link.idpId, linkedUserId: link.userId });
      assert.ok(removed.details?.resourceOwner, 'details.resourceOwner');
    }
    assert.deepEqual(await linkedIDPs(userId), []);
    assert.deepEqual(await idpLinks(usersV2, userId), []);
    const { authMethodTypes } = await users.listAuthenticationMethodTypes({ userId });
    assert.deepEqual(authMethodTypes, []);
    // The corporate account, with no address to lead it back, signs a new user up. (The Google
    // one would sign in to the user again: Google vouches for the user's address.)
    const signedIn = await signInWithIdp('oidc.corp', { sub: corp.userId });
    assert.equal(signedIn.isNewUser, true);
    assert.notEqual(signedIn.localId, userId);
  });

  test('RemoveHumanLinkedIDP of a link the user lacks arrives as NOT_FOUND "… (TESSERA-IDP02)"; the link is kept', async () => {
    const { userId, account } = await googleUser();
    const google = { idpId: 'google.com', userId: account.sub, userName: account.email };
    await assert.rejects(
      management.removeHumanLinkedIDP({ userId, idpId: 'google.com', linkedUserId: `g-${hex()}` }),
      (error) => {
        assert.equal(error.code, Status.NOT_FOUND);
        assert.equal(error.details, `${NO_SUCH_LINK} (TESSERA-IDP02)`);
        return true;
      },
    );
    assert.deepEqual(await linkedIDPs(userId), [userLink(userId, google, NodeIDPType.IDP_TYPE_OIDC)]);
    assert.deepEqual(await idpLinks(usersV2, userId), [google]);
    assert.equal((await signInWithIdp('google.com', account)).localId, userId);
  });
});
