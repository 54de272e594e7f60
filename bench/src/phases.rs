//! What the bench does, phase by phase: each phase is a name, what it needs of the target,
//! what kind of work it is (for the targets), and one operation per user — exactly
//! one request, timed by the runner. Phases run in order, each to completion, and leave what
//! later phases need in the user's state (tokens, factor ids, secrets, session infos).

use std::future::Future;
use std::pin::Pin;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::client::{Client, text};
use crate::target::Needs;
use crate::totp;

/// What an operation costs the server, by the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Setting up users; reported, not targeted.
    Setup,
    /// Checks a password (Argon2id): reported, not targeted.
    Password,
    /// Neither mints a token nor checks a password.
    Plain,
    /// Mints an ID token (RS256 by default).
    Token,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Setup => "setup",
            Kind::Password => "password",
            Kind::Plain => "plain",
            Kind::Token => "token",
        }
    }
}

/// One user's state between phases.
#[derive(Debug, Default)]
pub struct User {
    pub email: String,
    pub password: String,
    pub phone: String,
    pub local_id: String,
    pub id_token: String,
    pub refresh_token: String,
    /// `mfaPendingCredential` of the last password sign-in that asked for a second factor.
    pub pending: String,
    /// `sessionInfo` of the last SMS code sent (enrolment or sign-in).
    pub sms_session: String,
    pub totp_session: String,
    /// The secret of the user's authenticator app, and the last step a code was used for.
    pub totp_secret: String,
    pub totp_last_step: u64,
    pub phone_factor: String,
    pub totp_factor: String,
}

impl User {
    pub fn new(run: &str, index: usize) -> Self {
        Self {
            email: format!("bench-{run}-{index}@example.com"),
            password: format!("bench password {index}"),
            phone: format!("+1650{:07}", 2_000_000 + index),
            ..Self::default()
        }
    }

    /// Keeps the newest tokens of an answer that has them (camelCase or the token endpoint's
    /// snake_case).
    fn keep_tokens(&mut self, answer: &Value) {
        for (id, refresh) in [("idToken", "refreshToken"), ("id_token", "refresh_token")] {
            if let Some(token) = answer[id].as_str() {
                token.clone_into(&mut self.id_token);
            }
            if let Some(token) = answer[refresh].as_str() {
                token.clone_into(&mut self.refresh_token);
            }
        }
    }

    /// Keeps the factor ids of an `mfaInfo` list.
    fn keep_factors(&mut self, mfa_info: &Value) {
        for factor in mfa_info.as_array().into_iter().flatten() {
            let Some(id) = factor["mfaEnrollmentId"].as_str() else {
                continue;
            };
            if factor.get("phoneInfo").is_some() {
                id.clone_into(&mut self.phone_factor);
            } else if factor.get("totpInfo").is_some() {
                id.clone_into(&mut self.totp_factor);
            }
        }
    }

    /// A fresh TOTP code for the user's authenticator app, one step past the last used.
    fn totp_code(&mut self) -> anyhow::Result<String> {
        let step = totp::next_step(self.totp_last_step);
        self.totp_last_step = step;
        totp::code(&self.totp_secret, step)
    }
}

pub type OpFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
type Op = Box<dyn for<'a> Fn(&'a Client, &'a mut User) -> OpFuture<'a> + Send + Sync>;

pub struct Phase {
    pub name: &'static str,
    pub kind: Kind,
    pub needs: Needs,
    /// Read the dev outbox once before the phase starts (untimed).
    pub reads_outbox: bool,
    /// Changes nothing on the server, so it may run several rounds over the users.
    pub read_only: bool,
    op: Op,
}

impl Phase {
    fn new<F>(name: &'static str, kind: Kind, needs: Needs, op: F) -> Self
    where
        F: for<'a> Fn(&'a Client, &'a mut User) -> OpFuture<'a> + Send + Sync + 'static,
    {
        Self {
            name,
            kind,
            needs,
            reads_outbox: false,
            read_only: false,
            op: Box::new(op),
        }
    }

    fn reading_outbox(mut self) -> Self {
        self.reads_outbox = true;
        self
    }

    fn only_reading(mut self) -> Self {
        self.read_only = true;
        self
    }

    pub fn run<'a>(&self, client: &'a Client, user: &'a mut User) -> OpFuture<'a> {
        (self.op)(client, user)
    }
}

/// Every phase, in the order they run.
pub fn all() -> Vec<Phase> {
    use Kind::*;
    use Needs::*;
    vec![
        Phase::new("accounts:signUp", Setup, IdentityToolkit, |c, u| {
            Box::pin(sign_up(c, u))
        }),
        Phase::new(
            "accounts:update emailVerified (admin)",
            Setup,
            IdentityToolkit,
            |c, u| Box::pin(verify_email(c, u)),
        ),
        Phase::new(
            "accounts:signInWithPassword",
            Password,
            IdentityToolkit,
            |c, u| Box::pin(sign_in(c, u)),
        ),
        Phase::new(
            "mfaEnrollment:start (phone)",
            Plain,
            IdentityToolkit,
            |c, u| Box::pin(enrol_phone_start(c, u)),
        ),
        Phase::new(
            "mfaEnrollment:finalize (phone)",
            Token,
            IdentityToolkit,
            |c, u| Box::pin(enrol_phone_finalize(c, u)),
        )
        .reading_outbox(),
        Phase::new("mfaEnrollment:start (TOTP)", Plain, Totp, |c, u| {
            Box::pin(enrol_totp_start(c, u))
        }),
        Phase::new("mfaEnrollment:finalize (TOTP)", Token, Totp, |c, u| {
            Box::pin(enrol_totp_finalize(c, u))
        }),
        Phase::new("accounts:lookup", Plain, IdentityToolkit, |c, u| {
            Box::pin(lookup(c, u))
        })
        .only_reading(),
        Phase::new(
            "accounts:signInWithPassword (→ MFA pending)",
            Password,
            IdentityToolkit,
            |c, u| Box::pin(sign_in(c, u)),
        ),
        Phase::new("mfaSignIn:start (phone)", Plain, IdentityToolkit, |c, u| {
            Box::pin(sign_in_phone_start(c, u))
        }),
        Phase::new(
            "mfaSignIn:finalize (phone)",
            Token,
            IdentityToolkit,
            |c, u| Box::pin(sign_in_phone_finalize(c, u)),
        )
        .reading_outbox(),
        Phase::new(
            "accounts:signInWithPassword (→ MFA pending, again)",
            Password,
            IdentityToolkit,
            |c, u| Box::pin(sign_in(c, u)),
        ),
        Phase::new("mfaSignIn:finalize (TOTP)", Token, Totp, |c, u| {
            Box::pin(sign_in_totp_finalize(c, u))
        }),
        Phase::new(
            "securetoken v1/token (refresh)",
            Token,
            IdentityToolkit,
            |c, u| Box::pin(refresh(c, u)),
        ),
        Phase::new("ListHumanAuthFactors (REST)", Plain, Zitadel, |c, u| {
            Box::pin(list_factors_rest(c, u))
        })
        .only_reading(),
        Phase::new("ListHumanAuthFactors (gRPC)", Plain, Zitadel, |c, u| {
            Box::pin(list_factors_grpc(c, u))
        })
        .only_reading(),
        Phase::new(
            "mfaEnrollment:withdraw (phone)",
            Token,
            IdentityToolkit,
            |c, u| Box::pin(withdraw(c, u, Factor::Phone)),
        ),
        Phase::new("mfaEnrollment:withdraw (TOTP)", Token, Totp, |c, u| {
            Box::pin(withdraw(c, u, Factor::Totp))
        }),
        Phase::new("RegisterTOTP (REST v2)", Plain, Zitadel, |c, u| {
            Box::pin(register_totp(c, u))
        }),
        Phase::new(
            "VerifyTOTPRegistration (REST v2)",
            Plain,
            Zitadel,
            |c, u| Box::pin(verify_totp_registration(c, u)),
        ),
    ]
}

async fn sign_up(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"email": u.email, "password": u.password, "returnSecureToken": true});
    let answer = c.identity_toolkit("v1/accounts:signUp", &body).await?;
    u.local_id = text(&answer, "localId")?;
    u.keep_tokens(&answer);
    Ok(())
}

/// MFA enrolment needs a verified email; an administrator sets it.
async fn verify_email(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"localId": u.local_id, "emailVerified": true});
    c.admin("accounts:update", &body).await?;
    Ok(())
}

/// A password sign-in: tokens, or (once the user has second factors) a pending credential.
async fn sign_in(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"email": u.email, "password": u.password, "returnSecureToken": true});
    let answer = c
        .identity_toolkit("v1/accounts:signInWithPassword", &body)
        .await?;
    if let Some(pending) = answer["mfaPendingCredential"].as_str() {
        pending.clone_into(&mut u.pending);
        u.keep_factors(&answer["mfaInfo"]);
    } else {
        text(&answer, "idToken")?;
        u.keep_tokens(&answer);
    }
    Ok(())
}

async fn enrol_phone_start(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"idToken": u.id_token, "phoneEnrollmentInfo": {"phoneNumber": u.phone}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaEnrollment:start", &body)
        .await?;
    u.sms_session = text(&answer["phoneSessionInfo"], "sessionInfo")?;
    Ok(())
}

async fn enrol_phone_finalize(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let code = c.code_for(&u.sms_session)?;
    let body = json!({"idToken": u.id_token, "displayName": "phone",
        "phoneVerificationInfo": {"sessionInfo": u.sms_session, "code": code}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaEnrollment:finalize", &body)
        .await?;
    text(&answer, "idToken")?;
    u.keep_tokens(&answer);
    Ok(())
}

async fn enrol_totp_start(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"idToken": u.id_token, "totpEnrollmentInfo": {}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaEnrollment:start", &body)
        .await?;
    let info = &answer["totpSessionInfo"];
    u.totp_secret = text(info, "sharedSecretKey")?;
    u.totp_session = text(info, "sessionInfo")?;
    u.totp_last_step = 0;
    Ok(())
}

async fn enrol_totp_finalize(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let code = u.totp_code()?;
    let body = json!({"idToken": u.id_token, "displayName": "app",
        "totpVerificationInfo": {"sessionInfo": u.totp_session, "verificationCode": code}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaEnrollment:finalize", &body)
        .await?;
    text(&answer, "idToken")?;
    u.keep_tokens(&answer);
    Ok(())
}

async fn lookup(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"idToken": u.id_token});
    let answer = c.identity_toolkit("v1/accounts:lookup", &body).await?;
    let user = &answer["users"][0];
    text(user, "localId")?;
    u.keep_factors(&user["mfaInfo"]);
    Ok(())
}

async fn sign_in_phone_start(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let body = json!({"mfaPendingCredential": u.pending, "mfaEnrollmentId": u.phone_factor,
        "phoneSignInInfo": {"recaptchaToken": "bench"}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaSignIn:start", &body)
        .await?;
    u.sms_session = text(&answer["phoneResponseInfo"], "sessionInfo")?;
    Ok(())
}

async fn sign_in_phone_finalize(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let code = c.code_for(&u.sms_session)?;
    let body = json!({"mfaPendingCredential": u.pending,
        "phoneVerificationInfo": {"sessionInfo": u.sms_session, "code": code}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaSignIn:finalize", &body)
        .await?;
    text(&answer, "idToken")?;
    u.keep_tokens(&answer);
    Ok(())
}

async fn sign_in_totp_finalize(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let code = u.totp_code()?;
    let body = json!({"mfaPendingCredential": u.pending, "mfaEnrollmentId": u.totp_factor,
        "totpVerificationInfo": {"verificationCode": code}});
    let answer = c
        .identity_toolkit("v2/accounts/mfaSignIn:finalize", &body)
        .await?;
    text(&answer, "idToken")?;
    u.keep_tokens(&answer);
    Ok(())
}

async fn refresh(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let answer = c.refresh(&u.refresh_token).await?;
    text(&answer, "id_token")?;
    u.keep_tokens(&answer);
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Factor {
    Phone,
    Totp,
}

async fn withdraw(c: &Client, u: &mut User, factor: Factor) -> anyhow::Result<()> {
    let id = match factor {
        Factor::Phone => &u.phone_factor,
        Factor::Totp => &u.totp_factor,
    };
    if id.is_empty() {
        bail!("no {factor:?} factor id known (lookup found none)");
    }
    let body = json!({"idToken": u.id_token, "mfaEnrollmentId": id});
    let answer = c
        .identity_toolkit("v2/accounts/mfaEnrollment:withdraw", &body)
        .await?;
    text(&answer, "idToken")?;
    u.keep_tokens(&answer);
    Ok(())
}

async fn list_factors_rest(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let path = format!("/management/v1/users/{}/auth_factors/_search", u.local_id);
    let answer = c.zitadel(&path, &json!({})).await?;
    let listed = answer["result"].as_array().map_or(0, Vec::len);
    expect_factors(listed, &answer)
}

async fn list_factors_grpc(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let listed = c.grpc_list_auth_factors(&u.local_id).await?;
    expect_factors(listed, &"(gRPC answer)")
}

/// By the ZITADEL phases every user has a phone and a TOTP factor.
fn expect_factors(listed: usize, answer: &dyn std::fmt::Display) -> anyhow::Result<()> {
    if listed != 2 {
        bail!("{listed} factors listed, expected 2: {answer}");
    }
    Ok(())
}

async fn register_totp(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let answer = c
        .zitadel(&format!("/v2/users/{}/totp", u.local_id), &json!({}))
        .await?;
    u.totp_secret = text(&answer, "secret")?;
    u.totp_last_step = 0;
    Ok(())
}

async fn verify_totp_registration(c: &Client, u: &mut User) -> anyhow::Result<()> {
    let code = u.totp_code().context("computing the TOTP code")?;
    let path = format!("/v2/users/{}/totp/verify", u.local_id);
    c.zitadel(&path, &json!({"code": code})).await?;
    Ok(())
}
