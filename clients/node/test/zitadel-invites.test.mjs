// ZITADEL's invitations (user service v2: CreateInviteCode, ResendInviteCode, VerifyInviteCode)
// through the unmodified official Node clients: @zitadel/client's v2 user service on the
// transports the other ZITADEL client tests use (gRPC over HTTP/2 without TLS, Connect over
// HTTP/1.1 as JSON and as binary); @zitadel/node (nice-grpc over gRPC) with a v2 user service
// client made from its own generated v2 definition, the way the package makes its clients; and
// the REST paths of ZITADEL's gateway (POST /v2/users/{userId}/invite_code, …/resend, …/verify)
// with plain fetch.
//
// The invitee is a human made with v2 AddHumanUser with an address whose verification code is
// returned (so nothing is mailed for it) and no password: a user who cannot sign in yet, the only
// kind ZITADEL invites. A code is returned (returnCode) or mailed as a link: to the caller's
// urlTemplate with {{.UserID}}, {{.Code}} and {{.OrgID}} filled in, naming the caller's
// applicationName in the subject ("Invitation to <name>"); without a template (sendCode without
// one, or no verification at all) to the page at the path of ZITADEL's login UI
// (/ui/login/user/invite?userID=…&loginname=…&code=…&orgID=…) on the origin the call came to,
// naming the project. The emails go to the SMTP sink of smtp-sink.mjs, which the server is
// pointed at with TESSERA_SMTP_URL. A resend mails a new code as the invitation was mailed
// (template and name), and the old code stops working; a new invitation replaces the old one.
//
// Who may do what: dev mode's administrator (an IAM_OWNER machine user, the PAT in
// <data-dir>/admin.pat) everything; an ORG_OWNER_VIEWER machine user (from the `tessera admin`
// CLI, as an operator makes it) and a human with its own Identity Toolkit ID token may not
// invite (user.write), but anyone signed in may use a code: the code is the proof, and it
// verifies the invited address.
//
// Every refusal is checked for ZITADEL's code, message and error id, and to change nothing:
// GetUserByID answers the same before and after (the address still unverified), and nothing is
// mailed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Code } from '@connectrpc/connect';
import { createUserServiceClient } from '@zitadel/client/v2';
import { createAccessTokenInterceptor } from '@zitadel/node/dist/api/index.js';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import { UserServiceDefinition as NodeUserServiceV2 } from '@zitadel/node/dist/api/generated/zitadel/user/v2/user_service.js';
import { signInAnonymously } from 'firebase/auth';
import { createChannel, createClientFactory, Status } from 'nice-grpc';

import { assertGrpcError, assertZitadelError, idToken, machineUser, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, PROJECT, uniqueEmail, useTessera } from './server.mjs';
import { SmtpSink } from './smtp-sink.mjs';

// The sink listens before the server starts, which is pointed at it.
const smtp = new SmtpSink();
const tessera = useTessera({ env: { TESSERA_SMTP_URL: await smtp.start() } });
after(() => smtp.stop());
const TRANSPORTS = zitadelTransports(tessera);

// ZITADEL's refusals, as [message, id].
const ALREADY_INITIALIZED_CREATE = ['User is already initialized', 'COMMAND-EF34g'];
const ALREADY_INITIALIZED_RESEND = ['User is already initialized', 'COMMAND-Gg42s'];
const NOT_FOUND_CREATE = ['User could not be found', 'COMMAND-Wgvn4'];
const NOT_FOUND_RESEND = ['User could not be found', 'COMMAND-H3b2a'];
const NOT_FOUND_VERIFY = ['User could not be found', 'COMMAND-F5g2h'];
const CODE_NOT_FOUND = ['Code not found', 'COMMAND-Wr3gq'];
const CODE_INVALID = ['Code is invalid', 'COMMAND-Wgn4q'];
const NO_PERMISSION = ['No matching permissions found', 'AUTH-5mWD2'];
// Tessera's: ZITADEL's humans always have an address, Identity Toolkit's need not.
const NO_EMAIL = ['Email not found', 'TESSERA-EML01'];

// The page a default link opens (the path of ZITADEL's login UI) and its parameters.
const INVITE_PAGE = '/ui/login/user/invite';
const PAGE_PARAMETERS = ['code', 'loginname', 'orgID', 'userID'];
// The name a mail without an applicationName gives: the project's.
const DEFAULT_NAME = PROJECT;
// An invitation code: six characters, upper-case letters and digits.
const INVITE_CODE = /^[A-Z0-9]{6}$/;
// An id no user has.
const UNKNOWN = '123456789012345678';

// The verification oneof, as @zitadel/client takes it.
const RETURN = { case: 'returnCode', value: {} };
const send = (value = {}) => ({ case: 'sendCode', value });

/** Another code of the same form. */
const wrong = (code) => (code === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA');

/**
 * AddHumanUser (Ada Lovelace, no password, the address's verification code returned, so not
 * mailed) with `users`: { userId, email, org, emailCode }, checked to be unverified.
 */
async function addInvitee(users, email = uniqueEmail('zitadel-invite')) {
  const added = await users.addHumanUser({
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email, verification: RETURN },
  });
  assert.match(added.userId, /^\d+$/);
  assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
  assert.match(added.emailCode ?? '', /^\S+$/, 'the address verification code is returned');
  const invitee = { userId: added.userId, email, org: added.details.resourceOwner, emailCode: added.emailCode };
  assert.equal(await emailVerified(users, invitee.userId), false);
  return invitee;
}

/** AddHumanUser with a password (a user who signs in already): { userId, email, org }. */
async function addWithPassword(users) {
  const email = uniqueEmail('zitadel-invite-password');
  const added = await users.addHumanUser({
    profile: { givenName: 'Grace', familyName: 'Hopper' },
    email: { email, verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  return { userId: added.userId, email, org: added.details.resourceOwner };
}

/** GetUserByID: whether the human's address is verified. */
async function emailVerified(users, userId) {
  const { user } = await users.getUserByID({ userId });
  assert.equal(user?.type.case, 'human', `${userId} is a human`);
  return user.type.value.email?.isVerified;
}

/**
 * Asserts that `call` is refused with ZITADEL's error and that it changed nothing: GetUserByID of
 * `userId` (by the administrator's `users`) answers the same before and after, and nothing was
 * mailed to `email` (if given).
 */
async function assertRefusedUnchanged(users, { userId, email }, call, code, [message, id]) {
  const before = await users.getUserByID({ userId });
  await assertZitadelError(call(), code, message, id);
  assert.deepEqual(await users.getUserByID({ userId }), before, 'nothing changed');
  if (email) assert.deepEqual(smtp.pending(email), [], `nothing mailed to ${email}`);
}

/**
 * VerifyInviteCode of `code` by `users`: answers the details of the invitee's organization, and
 * the address is verified afterwards, the user otherwise as it was.
 */
/**
 * CreateInviteCode by `caller` for `subject` with each kind of verification (returned, mailed,
 * none), each refused with `code` and `error` and changing nothing.
 */
async function assertCreateRefused(users, caller, subject, code, error) {
  for (const verification of [RETURN, send(), undefined]) {
    await assertRefusedUnchanged(
      users,
      subject,
      () => caller.createInviteCode({ userId: subject.userId, ...(verification ? { verification } : {}) }),
      code,
      error,
    );
  }
}

/** A user who signs in already: `caller` neither invites it nor resends it an invitation. */
async function assertInitialized(users, caller, subject) {
  await assertCreateRefused(users, caller, subject, Code.FailedPrecondition, ALREADY_INITIALIZED_CREATE);
  await assertRefusedUnchanged(
    users,
    subject,
    () => caller.resendInviteCode({ userId: subject.userId }),
    Code.FailedPrecondition,
    ALREADY_INITIALIZED_RESEND,
  );
}

/**
 * The invitation is over: its `code` is refused (COMMAND-Wgn4q) and there is none to resend
 * (COMMAND-Wr3gq), each refusal changing nothing.
 */
async function assertInvitationEnded(users, invitee, code) {
  await assertRefusedUnchanged(
    users,
    invitee,
    () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: code }),
    Code.InvalidArgument,
    CODE_INVALID,
  );
  await assertRefusedUnchanged(
    users,
    invitee,
    () => users.resendInviteCode({ userId: invitee.userId }),
    Code.FailedPrecondition,
    CODE_NOT_FOUND,
  );
}

async function assertVerified(users, admin, invitee, code) {
  const before = (await admin.getUserByID({ userId: invitee.userId })).user;
  const verified = await users.verifyInviteCode({ userId: invitee.userId, verificationCode: code });
  assert.equal(verified.$typeName, 'zitadel.user.v2.VerifyInviteCodeResponse');
  assert.equal(verified.details?.resourceOwner, invitee.org);
  assert.ok(verified.details.changeDate, 'details.changeDate');
  const after = (await admin.getUserByID({ userId: invitee.userId })).user;
  assert.equal(after.type.value.email.isVerified, true, 'the address is verified');
  // Nothing else about the user changed.
  const human = (user) => ({ ...user.type.value, email: { ...user.type.value.email, isVerified: null } });
  assert.deepEqual(human(after), human(before));
  assert.equal(after.state, before.state);
  assert.equal(after.preferredLoginName, before.preferredLoginName);
}

/** CreateInviteCode returning the code: the code, checked to be ZITADEL's form, with the answer's details. */
async function returnedCode(users, invitee) {
  const created = await users.createInviteCode({ userId: invitee.userId, verification: RETURN });
  assert.equal(created.$typeName, 'zitadel.user.v2.CreateInviteCodeResponse');
  assert.equal(created.details?.resourceOwner, invitee.org);
  assert.ok(created.details.changeDate, 'details.changeDate');
  assert.match(created.inviteCode ?? '', INVITE_CODE);
  return created.inviteCode;
}

/** CreateInviteCode mailing the code (`verification` a sendCode or none): checked to answer no code. */
async function mailedInvitation(users, invitee, verification) {
  const created = await users.createInviteCode({
    userId: invitee.userId,
    ...(verification ? { verification } : {}),
  });
  assert.equal(created.$typeName, 'zitadel.user.v2.CreateInviteCodeResponse');
  assert.equal(created.details?.resourceOwner, invitee.org);
  assert.equal(created.inviteCode, undefined, 'a mailed code is not answered');
}

/**
 * The next email to `email`: checked to be addressed to it alone, with subject "Invitation to
 * `name`", and to carry exactly one link starting with `prefix` in its plain-text part, which its
 * HTML part carries too ("&" escaped). Resolves to { link, mail }.
 */
async function mailedLink(email, prefix, name) {
  const mail = await smtp.next(email);
  assert.deepEqual(mail.rcptTo, [email]);
  assert.equal(mail.subject, `Invitation to ${name}`);
  const links = (mail.text.match(/https?:\/\/\S+/g) ?? []).filter((link) => link.startsWith(prefix));
  assert.equal(links.length, 1, `one link starting with ${prefix}: ${mail.text}`);
  const [link] = links;
  assert.ok(mail.html.includes(link.replaceAll('&', '&amp;')), `the HTML part has ${link}: ${mail.html}`);
  return { link, mail };
}

/**
 * The next email to `email`, with a link made from a urlTemplate: checked to be exactly `prefix`,
 * an invitation code and `suffix`. Resolves to { link, code, mail }.
 */
async function mailedTemplate(email, prefix, name, suffix = '') {
  const { link, mail } = await mailedLink(email, prefix, name);
  const code = link.slice(prefix.length, link.length - suffix.length);
  assert.match(code, INVITE_CODE, link);
  assert.equal(link, `${prefix}${code}${suffix}`);
  return { link, code, mail };
}

/**
 * Checks that `link` leads to this server's invitation page with ZITADEL's parameters for
 * `invitee` and nothing else; resolves to its code.
 */
function pageCode(link, invitee) {
  const url = new URL(link);
  assert.equal(url.origin, tessera.baseUrl, link);
  assert.equal(url.pathname, INVITE_PAGE, link);
  assert.deepEqual([...url.searchParams.keys()].sort(), PAGE_PARAMETERS, link);
  assert.equal(url.searchParams.get('userID'), invitee.userId, link);
  assert.equal(url.searchParams.get('loginname'), invitee.email, link);
  assert.equal(url.searchParams.get('orgID'), invitee.org, link);
  const code = url.searchParams.get('code');
  assert.match(code, INVITE_CODE, link);
  return code;
}

/** The next email to the invitee, with a default link: its code. */
async function mailedPageCode(invitee, name = DEFAULT_NAME) {
  const { link } = await mailedLink(invitee.email, `${tessera.baseUrl}${INVITE_PAGE}?`, name);
  return pageCode(link, invitee);
}

/** The invitation page `link` opens: its status, HTML and the form cookie (name=value) it sets. */
async function openPage(link) {
  const response = await fetch(link, { redirect: 'manual' });
  const html = await response.text();
  const cookie = response.headers
    .getSetCookie()
    .map((header) => header.split(';')[0])
    .find((pair) => pair.startsWith('tessera_form='));
  return { status: response.status, html, cookie };
}

/** The value of the form field `name` on the page. */
function fieldValue(html, name) {
  const input = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(html)?.[0];
  assert.ok(input, `a field ${name}: ${html}`);
  return /\bvalue="([^"]*)"/.exec(input)?.[1] ?? '';
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`v2 invitations through @zitadel/client over ${name}`, () => {
    let users; // the administrator's
    let viewer; // an ORG_OWNER_VIEWER machine user's

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      const { org } = await addInvitee(users);
      viewer = createUserServiceClient(transport(machineUser(tessera, org, 'ORG_OWNER_VIEWER').pat));
    });

    test('a returned code (six characters A-Z0-9, nothing mailed) is verified by an ORG_OWNER_VIEWER machine user: the address is verified; used again, InvalidArgument (COMMAND-Wgn4q); it cannot be resent (COMMAND-Wr3gq)', async () => {
      const invitee = await addInvitee(users);
      const code = await returnedCode(users, invitee);
      assert.deepEqual(smtp.pending(invitee.email), [], 'a returned code is not mailed');
      await assertRefusedUnchanged(
        users,
        invitee,
        () => users.resendInviteCode({ userId: invitee.userId }),
        Code.FailedPrecondition,
        CODE_NOT_FOUND,
      );
      await assertVerified(viewer, users, invitee, code);
      await assertRefusedUnchanged(
        users,
        invitee,
        () => viewer.verifyInviteCode({ userId: invitee.userId, verificationCode: code }),
        Code.InvalidArgument,
        CODE_INVALID,
      );
      await assertInvitationEnded(users, invitee, code);
      // Still without a way to sign in, the user may be invited again (ZITADEL's CreationAllowed).
      const again = await returnedCode(users, invitee);
      await assertVerified(users, users, invitee, again);
    });

    test('mailed to the urlTemplate with {{.UserID}}, {{.OrgID}} and {{.Code}} filled in, naming the applicationName; ResendInviteCode mails a new code the same way; the old code is refused, the new one verifies; then resend is FailedPrecondition (COMMAND-Wr3gq)', async () => {
      const invitee = await addInvitee(users);
      const applicationName = `Portal für R&D ✓ ${hex(2)}`;
      const urlTemplate = 'https://app.example.com/invite?user={{.UserID}}&org={{.OrgID}}&code={{.Code}}&from=mail';
      await mailedInvitation(users, invitee, send({ urlTemplate, applicationName }));
      const prefix = `https://app.example.com/invite?user=${invitee.userId}&org=${invitee.org}&code=`;
      const first = await mailedTemplate(invitee.email, prefix, applicationName, '&from=mail');
      assert.ok(first.mail.text.includes(applicationName), first.mail.text);
      assert.ok(first.mail.html.includes(applicationName.replace('&', '&amp;')), first.mail.html);
      assert.equal(await emailVerified(users, invitee.userId), false, 'a mail proves nothing yet');

      const resent = await users.resendInviteCode({ userId: invitee.userId });
      assert.equal(resent.$typeName, 'zitadel.user.v2.ResendInviteCodeResponse');
      assert.equal(resent.details?.resourceOwner, invitee.org);
      assert.ok(resent.details.changeDate, 'details.changeDate');
      const second = await mailedTemplate(invitee.email, prefix, applicationName, '&from=mail');
      assert.notEqual(second.code, first.code, 'a new code');

      await assertRefusedUnchanged(
        users,
        invitee,
        () => viewer.verifyInviteCode({ userId: invitee.userId, verificationCode: first.code }),
        Code.InvalidArgument,
        CODE_INVALID,
      );
      await assertVerified(viewer, users, invitee, second.code);
      await assertRefusedUnchanged(
        users,
        invitee,
        () => users.resendInviteCode({ userId: invitee.userId }),
        Code.FailedPrecondition,
        CODE_NOT_FOUND,
      );
    });

    test('without a template (no verification, or sendCode without one) the link leads to /ui/login/user/invite with userID, loginname, code and orgID, the mail names the project, and the page answers 200 with the code in its form; each invitation replaces the one before', async () => {
      const invitee = await addInvitee(users);
      await mailedInvitation(users, invitee, undefined);
      const first = await mailedPageCode(invitee);
      await mailedInvitation(users, invitee, send());
      const second = await mailedPageCode(invitee);
      // An applicationName alone names the application and keeps the default link.
      await mailedInvitation(users, invitee, send({ applicationName: 'Back Office' }));
      const third = await mailedPageCode(invitee, 'Back Office');
      assert.equal(new Set([first, second, third]).size, 3, 'three codes');

      const link = `${tessera.baseUrl}${INVITE_PAGE}?${new URLSearchParams({
        userID: invitee.userId,
        loginname: invitee.email,
        code: third,
        orgID: invitee.org,
      })}`;
      const page = await openPage(link);
      assert.equal(page.status, 200, page.html);
      assert.ok(page.cookie, 'the page sets its form cookie');
      assert.equal(fieldValue(page.html, 'code'), third);
      assert.equal(fieldValue(page.html, 'userID'), invitee.userId);
      assert.equal(fieldValue(page.html, 'orgID'), invitee.org);
      assert.ok(page.html.includes(invitee.email), 'the page names the login name');
      // Opening the page uses nothing up.
      assert.equal(await emailVerified(users, invitee.userId), false);

      // The resend mails the default link again, naming what the last invitation named.
      await users.resendInviteCode({ userId: invitee.userId });
      const fourth = await mailedPageCode(invitee, 'Back Office');
      // Two of the old codes (a third wrong try would void the invitation).
      for (const old of [third, first]) {
        await assertRefusedUnchanged(
          users,
          invitee,
          () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: old }),
          Code.InvalidArgument,
          CODE_INVALID,
        );
      }
      await assertVerified(users, users, invitee, fourth);
    });

    test('a new invitation replaces the old one: a returned code after a mailed one cannot be resent (COMMAND-Wr3gq) and the mailed code is refused; a mailed one after a returned one can, to its own template', async () => {
      const invitee = await addInvitee(users);
      const urlTemplate = 'https://app.example.com/join/{{.Code}}';
      await mailedInvitation(users, invitee, send({ urlTemplate }));
      const mailed = await mailedTemplate(invitee.email, 'https://app.example.com/join/', DEFAULT_NAME);
      const returned = await returnedCode(users, invitee);
      await assertRefusedUnchanged(
        users,
        invitee,
        () => users.resendInviteCode({ userId: invitee.userId }),
        Code.FailedPrecondition,
        CODE_NOT_FOUND,
      );
      await assertRefusedUnchanged(
        users,
        invitee,
        () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: mailed.code }),
        Code.InvalidArgument,
        CODE_INVALID,
      );

      await mailedInvitation(users, invitee, send({ urlTemplate, applicationName: 'Second' }));
      const again = await mailedTemplate(invitee.email, 'https://app.example.com/join/', 'Second');
      await assertRefusedUnchanged(
        users,
        invitee,
        () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: returned }),
        Code.InvalidArgument,
        CODE_INVALID,
      );
      await users.resendInviteCode({ userId: invitee.userId });
      const resent = await mailedTemplate(invitee.email, 'https://app.example.com/join/', 'Second');
      assert.notEqual(resent.code, again.code);
      await assertVerified(users, users, invitee, resent.code);
    });

    test('three wrong codes void the invitation: each InvalidArgument (COMMAND-Wgn4q), then the right code too, and it cannot be resent (COMMAND-Wr3gq); a new invitation works', async () => {
      for (const mailed of [false, true]) {
        const invitee = await addInvitee(users);
        let code;
        if (mailed) {
          await mailedInvitation(users, invitee, send());
          code = await mailedPageCode(invitee);
        } else {
          code = await returnedCode(users, invitee);
        }
        for (let attempt = 0; attempt < 3; attempt += 1) {
          await assertRefusedUnchanged(
            users,
            invitee,
            () => viewer.verifyInviteCode({ userId: invitee.userId, verificationCode: wrong(code) }),
            Code.InvalidArgument,
            CODE_INVALID,
          );
        }
        await assertInvitationEnded(users, invitee, code);
        await assertVerified(users, users, invitee, await returnedCode(users, invitee));
      }
    });

    test('two wrong codes leave the invitation usable; a resend gives the new code three tries of its own', async () => {
      const invitee = await addInvitee(users);
      await mailedInvitation(users, invitee, send());
      const first = await mailedPageCode(invitee);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        await assertRefusedUnchanged(
          users,
          invitee,
          () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: wrong(first) }),
          Code.InvalidArgument,
          CODE_INVALID,
        );
      }
      await users.resendInviteCode({ userId: invitee.userId });
      const second = await mailedPageCode(invitee);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        await assertRefusedUnchanged(
          users,
          invitee,
          () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: wrong(second) }),
          Code.InvalidArgument,
          CODE_INVALID,
        );
      }
      await assertVerified(users, users, invitee, second);
    });

    test('a user who signs in already is not invited: created with a password, or signed up through the Firebase JS SDK, CreateInviteCode and ResendInviteCode are FailedPrecondition (COMMAND-EF34g, COMMAND-Gg42s)', async () => {
      const withPassword = await addWithPassword(users);
      const { user } = await tessera.signUp(uniqueEmail('zitadel-invite-signup'));
      const signedUp = { userId: user.uid, email: user.email };
      for (const subject of [withPassword, signedUp]) {
        await assertInitialized(users, users, subject);
      }
    });

    test('a user who chose a password after the invitation gets no new one (COMMAND-EF34g) and none resent (COMMAND-Gg42s), but the invitation it holds still verifies the address', async () => {
      const invitee = await addInvitee(users);
      await mailedInvitation(users, invitee, send());
      const code = await mailedPageCode(invitee);
      await users.setPassword({ userId: invitee.userId, newPassword: { password: PASSWORD } });
      await assertInitialized(users, users, invitee);
      await assertVerified(viewer, users, invitee, code);
      // The user signs in with the password it chose.
      const { user } = await tessera.signIn(invitee.email, PASSWORD);
      assert.equal(user.uid, invitee.userId);
      assert.equal(user.emailVerified, true);
    });

    test('an unknown user: CreateInviteCode FailedPrecondition (COMMAND-Wgvn4), ResendInviteCode (COMMAND-H3b2a), VerifyInviteCode (COMMAND-F5g2h), also for the viewer', async () => {
      await assertZitadelError(
        users.createInviteCode({ userId: UNKNOWN, verification: RETURN }),
        Code.FailedPrecondition,
        ...NOT_FOUND_CREATE,
      );
      await assertZitadelError(users.createInviteCode({ userId: UNKNOWN }), Code.FailedPrecondition, ...NOT_FOUND_CREATE);
      await assertZitadelError(users.resendInviteCode({ userId: UNKNOWN }), Code.FailedPrecondition, ...NOT_FOUND_RESEND);
      for (const caller of [users, viewer]) {
        await assertZitadelError(
          caller.verifyInviteCode({ userId: UNKNOWN, verificationCode: 'ABCDEF' }),
          Code.FailedPrecondition,
          ...NOT_FOUND_VERIFY,
        );
      }
      // A deleted user is unknown too.
      const invitee = await addInvitee(users);
      const code = await returnedCode(users, invitee);
      await users.deleteUser({ userId: invitee.userId });
      await assertZitadelError(
        users.createInviteCode({ userId: invitee.userId, verification: RETURN }),
        Code.FailedPrecondition,
        ...NOT_FOUND_CREATE,
      );
      await assertZitadelError(users.resendInviteCode({ userId: invitee.userId }), Code.FailedPrecondition, ...NOT_FOUND_RESEND);
      await assertZitadelError(
        users.verifyInviteCode({ userId: invitee.userId, verificationCode: code }),
        Code.FailedPrecondition,
        ...NOT_FOUND_VERIFY,
      );
    });

    test('no invitation: ResendInviteCode FailedPrecondition (COMMAND-Wr3gq), VerifyInviteCode InvalidArgument (COMMAND-Wgn4q), nothing changed', async () => {
      const invitee = await addInvitee(users);
      await assertRefusedUnchanged(
        users,
        invitee,
        () => users.resendInviteCode({ userId: invitee.userId }),
        Code.FailedPrecondition,
        CODE_NOT_FOUND,
      );
      for (const verificationCode of ['ABCDEF', '', invitee.emailCode]) {
        await assertRefusedUnchanged(
          users,
          invitee,
          () => viewer.verifyInviteCode({ userId: invitee.userId, verificationCode }),
          Code.InvalidArgument,
          CODE_INVALID,
        );
      }
    });

    test('a user without an address (an anonymous Firebase JS SDK user): CreateInviteCode NotFound (TESSERA-EML01), nothing changed', async () => {
      const { user } = await signInAnonymously(tessera.client());
      const subject = { userId: user.uid };
      await assertCreateRefused(users, users, subject, Code.NotFound, NO_EMAIL);
    });

    test('who may invite: an ORG_OWNER_VIEWER machine user and a human with its own ID token may not create or resend (PermissionDenied AUTH-5mWD2, before the user is looked up), nothing changed; the human may act on itself (and is refused as initialized)', async () => {
      const invitee = await addInvitee(users);
      await mailedInvitation(users, invitee, send());
      const code = await mailedPageCode(invitee);
      const human = await addWithPassword(users);
      const self = createUserServiceClient(transport(await idToken(tessera, human.email)));
      for (const caller of [viewer, self]) {
        await assertCreateRefused(users, caller, invitee, Code.PermissionDenied, NO_PERMISSION);
        await assertRefusedUnchanged(
          users,
          invitee,
          () => caller.resendInviteCode({ userId: invitee.userId }),
          Code.PermissionDenied,
          NO_PERMISSION,
        );
      }
      // The permission is checked first (as in ZITADEL): an unknown user is no different.
      await assertZitadelError(viewer.createInviteCode({ userId: UNKNOWN }), Code.PermissionDenied, ...NO_PERMISSION);
      await assertZitadelError(viewer.resendInviteCode({ userId: UNKNOWN }), Code.PermissionDenied, ...NO_PERMISSION);
      // A user may act on itself, but signs in already: it is not invited.
      await assertInitialized(users, self, human);
      // The invitation stands: the human with its ID token may use its code, as anyone signed in.
      await assertVerified(self, users, invitee, code);
    });

    test('a token the server did not issue: Unauthenticated "Errors.Token.Invalid (AUTH-7fs1e)" for each call, nothing changed', async () => {
      const invitee = await addInvitee(users);
      const code = await returnedCode(users, invitee);
      const stranger = createUserServiceClient(transport(`not-a-pat-${hex()}`));
      const invalid = ['Errors.Token.Invalid', 'AUTH-7fs1e'];
      for (const call of [
        () => stranger.createInviteCode({ userId: invitee.userId, verification: RETURN }),
        () => stranger.resendInviteCode({ userId: invitee.userId }),
        () => stranger.verifyInviteCode({ userId: invitee.userId, verificationCode: code }),
      ]) {
        await assertRefusedUnchanged(users, invitee, call, Code.Unauthenticated, invalid);
      }
      await assertVerified(users, users, invitee, code);
    });
  });
}

describe('the invitation page: the invited user chooses a password there, then signs in with the Firebase JS SDK', () => {
  let users;

  before(() => {
    users = createUserServiceClient(TRANSPORTS['Connect JSON (HTTP/1.1)'](tessera.adminPat));
  });

  test('a wrong code shows the form again (one of the three tries); the right one with a password accepts the invitation: the address is verified, the password signs in, and the user is invited no more', async () => {
    const invitee = await addInvitee(users);
    await mailedInvitation(users, invitee, undefined);
    const { link } = await mailedLink(invitee.email, `${tessera.baseUrl}${INVITE_PAGE}?`, DEFAULT_NAME);
    const code = pageCode(link, invitee);
    const page = await openPage(link);
    assert.equal(page.status, 200, page.html);
    assert.ok(page.cookie, 'the form cookie');
    const form = (overrides) =>
      fetch(new URL(INVITE_PAGE, tessera.baseUrl), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: page.cookie },
        body: new URLSearchParams({
          csrf: fieldValue(page.html, 'csrf'),
          userID: fieldValue(page.html, 'userID'),
          orgID: fieldValue(page.html, 'orgID'),
          loginname: fieldValue(page.html, 'loginname'),
          code: fieldValue(page.html, 'code'),
          password: PASSWORD,
          ...overrides,
        }),
      });
    assert.equal(fieldValue(page.html, 'code'), code);

    const wrongTry = await form({ code: wrong(code) });
    assert.equal(wrongTry.status, 303, await wrongTry.text());
    const back = new URL(wrongTry.headers.get('location'), tessera.baseUrl);
    assert.equal(back.pathname, INVITE_PAGE);
    assert.equal(back.searchParams.get('notice'), 'invalid-code');
    assert.equal(await emailVerified(users, invitee.userId), false);
    await assert.rejects(tessera.signIn(invitee.email, PASSWORD), /auth\/invalid-credential|auth\/wrong-password|auth\/user-not-found/);

    const accepted = await form({});
    const html = await accepted.text();
    assert.equal(accepted.status, 200, html);
    assert.ok(html.includes('Your account is ready'), html);
    assert.equal(await emailVerified(users, invitee.userId), true);
    const { user } = await tessera.signIn(invitee.email, PASSWORD);
    assert.equal(user.uid, invitee.userId);
    assert.equal(user.emailVerified, true);

    await assertRefusedUnchanged(
      users,
      invitee,
      () => users.createInviteCode({ userId: invitee.userId }),
      Code.FailedPrecondition,
      ALREADY_INITIALIZED_CREATE,
    );
    await assertRefusedUnchanged(
      users,
      invitee,
      () => users.resendInviteCode({ userId: invitee.userId }),
      Code.FailedPrecondition,
      ALREADY_INITIALIZED_RESEND,
    );
    await assertRefusedUnchanged(
      users,
      invitee,
      () => users.verifyInviteCode({ userId: invitee.userId, verificationCode: code }),
      Code.InvalidArgument,
      CODE_INVALID,
    );
  });
});

// In ZITADEL the invitation and the address's own verification code are two proofs of one
// thing, and using either uses up the other: its UserV2InviteWriteModel empties the invite code on
// HumanEmailVerifiedEvent, and its HumanEmailWriteModel the address's code on the same event
// (which VerifyInviteCode pushes).
describe("ZITADEL's invitation and the address verified otherwise", () => {
  let users;

  before(() => {
    users = createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat));
  });

  test('VerifyEmail voids the invitation: its code is InvalidArgument (COMMAND-Wgn4q), a resend FailedPrecondition (COMMAND-Wr3gq)', async () => {
    const invitee = await addInvitee(users);
    await mailedInvitation(users, invitee, send());
    const code = await mailedPageCode(invitee);
    await users.verifyEmail({ userId: invitee.userId, verificationCode: invitee.emailCode });
    assert.equal(await emailVerified(users, invitee.userId), true);
    await assertInvitationEnded(users, invitee, code);
    // A new invitation may still be made (the user has no way to sign in yet).
    const again = await returnedCode(users, invitee);
    const verified = await users.verifyInviteCode({ userId: invitee.userId, verificationCode: again });
    assert.equal(verified.details?.resourceOwner, invitee.org);
  });

  test("VerifyInviteCode uses up the address's verification code: VerifyEmail with it is then refused as a used code is", async () => {
    // What VerifyEmail answers for a code already used, on a user of its own.
    const other = await addInvitee(users);
    await users.verifyEmail({ userId: other.userId, verificationCode: other.emailCode });
    const used = await users
      .verifyEmail({ userId: other.userId, verificationCode: other.emailCode })
      .then((response) => assert.fail(`a used code is refused, not ${response.$typeName}`), (e) => e);
    const [detail] = used.findDetails(ErrorDetailSchema);
    assert.ok(detail, `ZITADEL's ErrorDetail: ${used.rawMessage}`);

    const invitee = await addInvitee(users);
    await assertVerified(users, users, invitee, await returnedCode(users, invitee));
    await assertRefusedUnchanged(
      users,
      invitee,
      () => users.verifyEmail({ userId: invitee.userId, verificationCode: invitee.emailCode }),
      used.code,
      [detail.message, detail.id],
    );
  });
});

describe('v2 invitations through @zitadel/node (v2 from its own definition, over gRPC)', () => {
  let nodeUsers; // the administrator's, @zitadel/node
  let nodeViewer; // an ORG_OWNER_VIEWER machine user's, @zitadel/node
  let users; // the administrator's, @zitadel/client, to make invitees and read users

  /** A @zitadel/node v2 user service client with `token`, made as the package makes its clients. */
  const nodeClient = (token) =>
    createClientFactory()
      .use(createAccessTokenInterceptor(token))
      .create(NodeUserServiceV2, createChannel(tessera.baseUrl));

  before(async () => {
    users = createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat));
    nodeUsers = nodeClient(tessera.adminPat);
    const { org } = await addInvitee(users);
    nodeViewer = nodeClient(machineUser(tessera, org, 'ORG_OWNER_VIEWER').pat);
  });

  test('returnCode: the code is answered; the viewer verifies it; used again INVALID_ARGUMENT (COMMAND-Wgn4q); resend FAILED_PRECONDITION (COMMAND-Wr3gq)', async () => {
    const invitee = await addInvitee(users);
    const created = await nodeUsers.createInviteCode({ userId: invitee.userId, returnCode: {} });
    assert.match(created.inviteCode ?? '', INVITE_CODE);
    assert.equal(created.details?.resourceOwner, invitee.org);
    assert.ok(created.details.changeDate instanceof Date, 'details.changeDate');
    assert.deepEqual(smtp.pending(invitee.email), []);
    const verified = await nodeViewer.verifyInviteCode({ userId: invitee.userId, verificationCode: created.inviteCode });
    assert.equal(verified.details?.resourceOwner, invitee.org);
    assert.equal(await emailVerified(users, invitee.userId), true);
    await assertGrpcError(
      nodeViewer.verifyInviteCode({ userId: invitee.userId, verificationCode: created.inviteCode }),
      Status.INVALID_ARGUMENT,
      ...CODE_INVALID,
    );
    await assertGrpcError(nodeUsers.resendInviteCode({ userId: invitee.userId }), Status.FAILED_PRECONDITION, ...CODE_NOT_FOUND);
  });

  test('sendCode with a urlTemplate and an applicationName mails the link; ResendInviteCode mails a new code the same way; the old one is refused, the new one verifies', async () => {
    const invitee = await addInvitee(users);
    const urlTemplate = 'https://node.example.com/accept?u={{.UserID}}&o={{.OrgID}}&c={{.Code}}';
    const created = await nodeUsers.createInviteCode({
      userId: invitee.userId,
      sendCode: { urlTemplate, applicationName: 'Node Portal' },
    });
    assert.equal(created.inviteCode, undefined);
    const prefix = `https://node.example.com/accept?u=${invitee.userId}&o=${invitee.org}&c=`;
    const first = await mailedTemplate(invitee.email, prefix, 'Node Portal');
    const resent = await nodeUsers.resendInviteCode({ userId: invitee.userId });
    assert.equal(resent.details?.resourceOwner, invitee.org);
    const second = await mailedTemplate(invitee.email, prefix, 'Node Portal');
    assert.notEqual(second.code, first.code);
    await assertGrpcError(
      nodeUsers.verifyInviteCode({ userId: invitee.userId, verificationCode: first.code }),
      Status.INVALID_ARGUMENT,
      ...CODE_INVALID,
    );
    assert.equal(await emailVerified(users, invitee.userId), false);
    await nodeUsers.verifyInviteCode({ userId: invitee.userId, verificationCode: second.code });
    assert.equal(await emailVerified(users, invitee.userId), true);
    await assertGrpcError(nodeUsers.resendInviteCode({ userId: invitee.userId }), Status.FAILED_PRECONDITION, ...CODE_NOT_FOUND);
  });

  test('no verification mails the default link; the refusals: already initialized, unknown user, no address, no permission', async () => {
    const invitee = await addInvitee(users);
    await nodeUsers.createInviteCode({ userId: invitee.userId });
    await mailedPageCode(invitee);

    const withPassword = await addWithPassword(users);
    await assertGrpcError(
      nodeUsers.createInviteCode({ userId: withPassword.userId, returnCode: {} }),
      Status.FAILED_PRECONDITION,
      ...ALREADY_INITIALIZED_CREATE,
    );
    await assertGrpcError(
      nodeUsers.resendInviteCode({ userId: withPassword.userId }),
      Status.FAILED_PRECONDITION,
      ...ALREADY_INITIALIZED_RESEND,
    );
    await assertGrpcError(
      nodeUsers.createInviteCode({ userId: UNKNOWN, returnCode: {} }),
      Status.FAILED_PRECONDITION,
      ...NOT_FOUND_CREATE,
    );
    await assertGrpcError(nodeUsers.resendInviteCode({ userId: UNKNOWN }), Status.FAILED_PRECONDITION, ...NOT_FOUND_RESEND);
    await assertGrpcError(
      nodeUsers.verifyInviteCode({ userId: UNKNOWN, verificationCode: 'ABCDEF' }),
      Status.FAILED_PRECONDITION,
      ...NOT_FOUND_VERIFY,
    );
    const { user } = await signInAnonymously(tessera.client());
    await assertGrpcError(nodeUsers.createInviteCode({ userId: user.uid, returnCode: {} }), Status.NOT_FOUND, ...NO_EMAIL);
    await assertGrpcError(
      nodeViewer.createInviteCode({ userId: invitee.userId, returnCode: {} }),
      Status.PERMISSION_DENIED,
      ...NO_PERMISSION,
    );
    await assertGrpcError(nodeViewer.resendInviteCode({ userId: invitee.userId }), Status.PERMISSION_DENIED, ...NO_PERMISSION);
    assert.equal(await emailVerified(users, invitee.userId), false);
    assert.deepEqual(smtp.pending(invitee.email), []);
  });
});

describe("v2 invitations through the REST paths of ZITADEL's gateway (fetch)", () => {
  let users;

  before(() => {
    users = createUserServiceClient(TRANSPORTS['Connect JSON (HTTP/1.1)'](tessera.adminPat));
  });

  /** POST `path` with the administrator's PAT and a JSON body: { status, body }. */
  const post = async (path, body, token = tessera.adminPat) => {
    const response = await fetch(new URL(path, tessera.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };

  /** Asserts ZITADEL's REST error: the HTTP status, the gRPC code, the message and its ErrorDetail. */
  const assertRestError = ({ status, body }, httpStatus, code, [message, id]) => {
    assert.equal(status, httpStatus, JSON.stringify(body));
    assert.equal(body.code, code, JSON.stringify(body));
    assert.equal(body.message, `${message} (${id})`);
    assert.deepEqual(
      body.details.map((detail) => ({ type: detail['@type'], id: detail.id, message: detail.message })),
      [{ type: 'type.googleapis.com/zitadel.v1.ErrorDetail', id, message }],
    );
  };

  test('POST /v2/users/{userId}/invite_code (returnCode, sendCode), …/resend and …/verify, and their refusals', async () => {
    const invitee = await addInvitee(users);
    const base = `/v2/users/${invitee.userId}/invite_code`;
    const created = await post(base, { returnCode: {} });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.match(created.body.inviteCode, INVITE_CODE);
    assert.equal(created.body.details.resourceOwner, invitee.org);
    assertRestError(await post(`${base}/resend`, {}), 400, 9, CODE_NOT_FOUND);
    assertRestError(await post(`${base}/verify`, { verificationCode: wrong(created.body.inviteCode) }), 400, 3, CODE_INVALID);

    const mailed = await post(base, { sendCode: { urlTemplate: 'https://rest.example.com/{{.UserID}}/{{.Code}}', applicationName: 'REST' } });
    assert.equal(mailed.status, 200, JSON.stringify(mailed.body));
    assert.equal(mailed.body.inviteCode, undefined);
    const first = await mailedTemplate(invitee.email, `https://rest.example.com/${invitee.userId}/`, 'REST');
    const resent = await post(`${base}/resend`, {});
    assert.equal(resent.status, 200, JSON.stringify(resent.body));
    const second = await mailedTemplate(invitee.email, `https://rest.example.com/${invitee.userId}/`, 'REST');
    assertRestError(await post(`${base}/verify`, { verificationCode: first.code }), 400, 3, CODE_INVALID);
    const verified = await post(`${base}/verify`, { verificationCode: second.code });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.details.resourceOwner, invitee.org);
    assert.equal(await emailVerified(users, invitee.userId), true);

    assertRestError(await post(`/v2/users/${UNKNOWN}/invite_code`, { returnCode: {} }), 400, 9, NOT_FOUND_CREATE);
    assertRestError(await post(`/v2/users/${UNKNOWN}/invite_code/resend`, {}), 400, 9, NOT_FOUND_RESEND);
    assertRestError(await post(`/v2/users/${UNKNOWN}/invite_code/verify`, { verificationCode: 'ABCDEF' }), 400, 9, NOT_FOUND_VERIFY);
    const withPassword = await addWithPassword(users);
    assertRestError(await post(`/v2/users/${withPassword.userId}/invite_code`, {}), 400, 9, ALREADY_INITIALIZED_CREATE);
    const other = await addInvitee(users);
    const { pat } = machineUser(tessera, other.org, 'ORG_OWNER_VIEWER');
    assertRestError(await post(`/v2/users/${other.userId}/invite_code`, {}, pat), 403, 7, NO_PERMISSION);
    assert.deepEqual(smtp.pending(other.email), []);
  });
});
