//! The page handlers. A guard finds the visitor at the stage a page needs (signed in, or
//! between password and second factor) and checks the form token; the rest is one service
//! call and a redirect (303) with a notice, or a page.

use crate::dialects::client_info;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use data_encoding::BASE32_NOPAD;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::contact::ContactKind;
use tessera_core::login_session::SessionOrigin;
use tessera_core::{DomainError, FactorData, FactorId, FactorKind, PhoneNumber};

use super::templates::{self, Channel, EnrolTotp, FactorRow, Factors, SecondFactor, SignIn, page};
use super::visitor::{
    FORM_COOKIE, PASSWORD_ONLY, SESSION_COOKIE, Stage, Visitor, double_submit_ok, host,
    session_cookie, set_cookie, visitor,
};
use crate::crypto::random_token;
use crate::service::{
    CodeDelivery, HumanChange, IfUnchanged, KeyChallenge, Proof, Service, SessionChallenges,
    SessionChange, SessionChecks, UserLookup,
};

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    csrf: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

#[derive(Deserialize)]
pub struct RemoveForm {
    pub(super) csrf: String,
    pub(super) id: String,
}

#[derive(Deserialize)]
pub struct PhoneForm {
    csrf: String,
    phone: String,
}

#[derive(Deserialize)]
pub struct KeyFinish {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) credential: Value,
}

/// A page handler's answer; guards answer early with a redirect or an error.
pub(super) type Reply = Result<Response, Response>;

pub(super) fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(super) fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(SET_COOKIE, cookie);
    response
}

pub(super) fn failure(e: DomainError) -> Response {
    tracing::warn!(error = %e, "self-service page request failed");
    let status = match e {
        DomainError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, "Something went wrong. Try again later.").into_response()
}

pub(super) fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "The form expired. Reload the page.").into_response()
}

/// A visitor past the password (`signed_in`: and past the second factor), else a redirect.
async fn guard(svc: &Service, headers: &HeaderMap, signed_in: bool) -> Result<Visitor, Response> {
    let Some(visitor) = visitor(svc, headers).await.map_err(failure)? else {
        return Err(see("/ui/sign-in?notice=expired"));
    };
    match (signed_in, visitor.stage()) {
        (_, Stage::Started) => Err(see("/ui/sign-in")),
        (true, Stage::SecondFactor) => Err(see("/ui/second-factor")),
        (false, Stage::SignedIn) => Err(see("/ui/factors")),
        _ => Ok(visitor),
    }
}

/// `guard`, and the form token the request carries (a form field, or `x-csrf-token`).
pub(super) async fn member(
    svc: &Service,
    headers: &HeaderMap,
    signed_in: bool,
    form_token: Option<&str>,
) -> Result<Visitor, Response> {
    let visitor = guard(svc, headers, signed_in).await?;
    let sent = form_token
        .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .unwrap_or_default();
    if visitor.form_token_ok(svc, sent) {
        Ok(visitor)
    } else {
        Err(forbidden())
    }
}

/// Applies checks or challenges to the visitor's session; the refreshed cookie with the
/// outcome.
pub(super) async fn change(
    svc: &Service,
    visitor: &Visitor,
    change: SessionChange,
) -> Result<(HeaderValue, Option<Value>), DomainError> {
    let update = svc
        .set_login_session(
            &visitor.realm,
            &visitor.session.id,
            Some(&visitor.token),
            change,
        )
        .await?;
    Ok((
        session_cookie(&update.session.id, &update.token),
        update.webauthn,
    ))
}

pub async fn home(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    match visitor(&svc, &headers).await.map(|v| v.map(|v| v.stage())) {
        Ok(Some(Stage::SignedIn)) => see("/ui/factors"),
        Ok(Some(Stage::SecondFactor)) => see("/ui/second-factor"),
        Ok(Some(Stage::Started) | None) => see("/ui/sign-in"),
        Err(e) => failure(e),
    }
}

pub async fn sign_in_page(Query(q): Query<NoticeQuery>) -> Response {
    let Ok(token) = random_token() else {
        return failure(DomainError::Internal);
    };
    let html = page(
        StatusCode::OK,
        &SignIn {
            notice: templates::notice(q.notice.as_deref()),
            csrf: token.clone(),
        },
    );
    with_cookie(html, set_cookie(FORM_COOKIE, &token))
}

pub async fn sign_in(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !double_submit_ok(&headers, &form.csrf) {
        return forbidden();
    }
    let realm = match svc.realm(svc.default_project(), None).await {
        Ok(realm) => realm,
        Err(e) => return failure(e),
    };
    let checks = SessionChecks {
        user: Some(UserLookup::LoginName(form.email)),
        password: Some(form.password),
        ..SessionChecks::default()
    };
    let started = svc
        .create_login_session(
            &realm,
            SessionChange {
                checks,
                ..SessionChange::default()
            },
            SessionOrigin::default(),
        )
        .await;
    let update = match started {
        Ok(update) => update,
        Err(
            DomainError::UserNotFound | DomainError::InvalidPassword | DomainError::UserDisabled,
        ) => {
            let again = SignIn {
                notice: Some("Wrong email or password.".to_owned()),
                csrf: form.csrf,
            };
            return page(StatusCode::UNAUTHORIZED, &again);
        }
        Err(e) => return failure(e),
    };
    let mut token = update.token;
    let Some(user) = update.session.user.clone() else {
        return failure(DomainError::Internal);
    };
    let has_factor = match svc.user_factors(&realm, &user).await {
        Ok((_, factors)) => factors
            .iter()
            .any(|f| f.state == tessera_core::FactorState::Ready),
        Err(e) => return failure(e),
    };
    if !has_factor {
        let marked = SessionChange {
            metadata: vec![(PASSWORD_ONLY.to_owned(), b"1".to_vec())],
            ..SessionChange::default()
        };
        match svc
            .set_login_session(&realm, &update.session.id, Some(&token), marked)
            .await
        {
            Ok(update) => token = update.token,
            Err(e) => return failure(e),
        }
    }
    let cookie = session_cookie(&update.session.id, &token);
    with_cookie(
        with_cookie(see("/ui/"), cookie),
        set_cookie(FORM_COOKIE, ""),
    )
}

pub async fn sign_out(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Ok(Some(v)) = visitor(&svc, &headers).await
        && v.form_token_ok(&svc, &form.csrf)
    {
        let _ = svc
            .delete_login_session(&v.realm, &v.session.id, Some(&v.token))
            .await;
    }
    with_cookie(see("/ui/sign-in"), set_cookie(SESSION_COOKIE, ""))
}

pub async fn second_factor_page(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Reply {
    let v = guard(&svc, &headers, false).await?;
    let has = |kind| v.ready().any(|f| f.kind() == kind);
    let mut channels = Vec::new();
    for factor in v.ready() {
        match &factor.data {
            FactorData::SmsOtp { phone } => channels.push(Channel {
                kind: "sms",
                to: masked(phone.as_str()),
            }),
            FactorData::EmailOtp { email } => channels.push(Channel {
                kind: "email",
                to: email.to_string(),
            }),
            _ => {}
        }
    }
    Ok(page(
        StatusCode::OK,
        &SecondFactor {
            notice: templates::notice(q.notice.as_deref()),
            csrf: v.form_token(&svc),
            email: v
                .user
                .email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            totp: has(FactorKind::Totp),
            key: has(FactorKind::WebAuthn),
            channels,
        },
    ))
}

/// `+15551234567` → `+*******4567`.
fn masked(phone: &str) -> String {
    let keep = phone.len().saturating_sub(4);
    phone
        .char_indices()
        .map(|(i, c)| if i > 0 && i < keep { '*' } else { c })
        .collect()
}

/// Applies a second-factor check from a form; back to the form with a notice if it fails.
async fn check(svc: &Service, headers: &HeaderMap, csrf: &str, checks: SessionChecks) -> Reply {
    let v = member(svc, headers, false, Some(csrf)).await?;
    let outcome = change(
        svc,
        &v,
        SessionChange {
            checks,
            client: client_info(headers),
            ..SessionChange::default()
        },
    )
    .await;
    Ok(match outcome {
        Ok((cookie, _)) => with_cookie(see("/ui/factors"), cookie),
        Err(DomainError::ContactNotChanged(_)) => see("/ui/factors?notice=unchanged"),
        Err(DomainError::Unavailable) => failure(DomainError::Unavailable),
        Err(DomainError::TooManyAttempts) => see("/ui/second-factor?notice=too-many"),
        Err(_) => see("/ui/second-factor?notice=invalid-code"),
    })
}

pub async fn check_totp(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Reply {
    let checks = SessionChecks {
        totp: Some(form.code.trim().to_owned()),
        ..SessionChecks::default()
    };
    check(&svc, &headers, &form.csrf, checks).await
}

pub async fn check_code(
    State(svc): State<Arc<Service>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Reply {
    let code = Some(form.code.trim().to_owned());
    let checks = match channel.as_str() {
        "sms" => SessionChecks {
            otp_sms: code,
            ..SessionChecks::default()
        },
        "email" => SessionChecks {
            otp_email: code,
            ..SessionChecks::default()
        },
        _ => return Err(StatusCode::NOT_FOUND.into_response()),
    };
    check(&svc, &headers, &form.csrf, checks).await
}

pub async fn send_code(
    State(svc): State<Arc<Service>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Reply {
    let v = member(&svc, &headers, false, Some(&form.csrf)).await?;
    let challenges = match channel.as_str() {
        "sms" => SessionChallenges {
            otp_sms: Some(CodeDelivery::Send),
            ..SessionChallenges::default()
        },
        "email" => SessionChallenges {
            otp_email: Some(CodeDelivery::Send),
            ..SessionChallenges::default()
        },
        _ => return Err(StatusCode::NOT_FOUND.into_response()),
    };
    let outcome = change(
        &svc,
        &v,
        SessionChange {
            challenges,
            client: client_info(&headers),
            ..SessionChange::default()
        },
    )
    .await;
    Ok(match outcome {
        Ok((cookie, _)) => with_cookie(see("/ui/second-factor?notice=code-sent"), cookie),
        Err(DomainError::TooManyRequests) => see("/ui/second-factor?notice=too-many"),
        Err(_) => see("/ui/second-factor?notice=sender-unavailable"),
    })
}

pub(super) fn json_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// The script's answer to a step that worked.
pub(super) fn json_ok() -> Response {
    Json(json!({ "ok": true })).into_response()
}

/// The script's answer to a registration started: the open credential's id and the
/// browser's creation options.
pub(super) fn registration_started(id: &FactorId, options: Value) -> Response {
    Json(json!({ "id": id.to_string(), "options": options })).into_response()
}

pub async fn key_challenge(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    let v = member(&svc, &headers, false, None).await?;
    let challenges = SessionChallenges {
        webauthn: Some(KeyChallenge {
            domain: host(&headers),
            user_verification: false,
        }),
        ..SessionChallenges::default()
    };
    let outcome = change(
        &svc,
        &v,
        SessionChange {
            challenges,
            client: client_info(&headers),
            ..SessionChange::default()
        },
    )
    .await;
    Ok(match outcome {
        Ok((cookie, Some(options))) => {
            with_cookie(Json(json!({ "options": options })).into_response(), cookie)
        }
        Ok((_, None)) | Err(_) => json_error("No security key is registered for this site."),
    })
}

pub async fn key_check(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(assertion): Json<Value>,
) -> Reply {
    let v = member(&svc, &headers, false, None).await?;
    let checks = SessionChecks {
        webauthn: Some(assertion),
        ..SessionChecks::default()
    };
    let outcome = change(
        &svc,
        &v,
        SessionChange {
            checks,
            ..SessionChange::default()
        },
    )
    .await;
    Ok(match outcome {
        Ok((cookie, _)) => with_cookie(json_ok(), cookie),
        Err(_) => json_error("The security key was not accepted."),
    })
}

fn row(factor: &tessera_core::Factor) -> FactorRow {
    let (kind, label, detail) = match &factor.data {
        FactorData::Totp { .. } => ("totp", "Authenticator app", String::new()),
        FactorData::SmsOtp { phone } => ("sms", "Text message", masked(phone.as_str())),
        FactorData::EmailOtp { email } => ("email", "Email", email.to_string()),
        FactorData::WebAuthn { .. } => (
            "key",
            "Security key",
            factor.display_name.clone().unwrap_or_default(),
        ),
    };
    let added = factor
        .enrolled_at
        .unwrap_or(factor.created_at)
        .date()
        .to_string();
    FactorRow {
        id: factor.id.to_string(),
        kind,
        label,
        detail,
        added,
    }
}

pub async fn factors_page(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Reply {
    let v = guard(&svc, &headers, true).await?;
    let has = |kind| v.ready().any(|f| f.kind() == kind);
    let passkeys = svc
        .ready_passkeys(&v.realm, &v.user.id)
        .await
        .map_err(failure)?
        .into_iter()
        .map(|p| FactorRow {
            id: p.id.to_string(),
            kind: "passkey",
            label: "Passkey",
            detail: p.name.unwrap_or_default(),
            added: p.created_at.date().to_string(),
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &Factors {
            notice: templates::notice(q.notice.as_deref()),
            csrf: v.form_token(&svc),
            email: v
                .user
                .email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            email_verified: v.user.email_verified,
            phone: v.user.phone_number.clone(),
            factors: v.ready().map(row).collect(),
            passkeys,
            has_totp: has(FactorKind::Totp),
            has_sms: has(FactorKind::SmsOtp),
            has_email: has(FactorKind::EmailOtp),
        },
    ))
}

/// A change to the visitor's factors from a form, then back to the list with a notice.
pub(super) async fn factor_change<F, Fut>(
    svc: &Arc<Service>,
    headers: &HeaderMap,
    csrf: &str,
    done: &str,
    act: F,
) -> Response
where
    F: FnOnce(Arc<Service>, Visitor) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let v = match member(svc, headers, true, Some(csrf)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match act(svc.clone(), v).await {
        Ok(()) => see(&format!("/ui/factors?notice={done}")),
        Err(DomainError::SecondFactorLimitExceeded) => see("/ui/factors?notice=limit"),
        Err(
            DomainError::InvalidCode
            | DomainError::InvalidVerificationCode
            | DomainError::CodeReused,
        ) => see("/ui/factors?notice=invalid-code"),
        Err(DomainError::TooManyRequests | DomainError::TooManyAttempts) => {
            see("/ui/factors?notice=too-many")
        }
        Err(DomainError::ContactNotChanged(_)) => see("/ui/factors?notice=unchanged"),
        Err(DomainError::Unavailable) => failure(DomainError::Unavailable),
        Err(_) => see("/ui/factors?notice=failed"),
    }
}

pub async fn remove_factor(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Response {
    factor_change(&svc, &headers, &form.csrf, "removed", |svc, v| async move {
        let id = FactorId::parse(&form.id).ok_or(DomainError::FactorNotFound)?;
        let factor = v
            .factors
            .iter()
            .find(|f| f.id == id)
            .ok_or(DomainError::FactorNotFound)?;
        match factor.kind() {
            FactorKind::WebAuthn => svc.remove_security_key(&v.realm, &v.user.id, &id).await,
            kind => svc.remove_factors_of_kind(&v.realm, &v.user.id, kind).await,
        }
    })
    .await
}

pub async fn enrol_totp(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Reply {
    let v = member(&svc, &headers, true, Some(&form.csrf)).await?;
    let (user, registration) = match svc.register_totp(&v.realm, &v.user.id).await {
        Ok(done) => done,
        Err(DomainError::SecondFactorExists) => return Err(see("/ui/factors?notice=failed")),
        Err(e) => return Err(failure(e)),
    };
    let secret = BASE32_NOPAD.encode(&registration.secret);
    let account = user
        .email
        .as_ref()
        .map_or_else(|| user.id.to_string(), ToString::to_string);
    let uri = registration.spec.uri(svc.totp_issuer(), &account, &secret);
    let qr_svg = match QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<svg::Color>().min_dimensions(200, 200).build();
            svg.find("<svg")
                .map_or(svg.clone(), |at| svg[at..].to_owned())
        }
        Err(_) => String::new(),
    };
    Ok(page(
        StatusCode::OK,
        &EnrolTotp {
            notice: None,
            csrf: v.form_token(&svc),
            secret,
            qr_svg,
        },
    ))
}

pub async fn verify_totp(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let client = client_info(&headers);
    factor_change(
        &svc,
        &headers,
        &form.csrf,
        "totp-added",
        |svc, v| async move {
            svc.verify_totp_registration(&v.realm, &v.user.id, form.code.trim(), &client)
                .await
                .map(drop)
        },
    )
    .await
}

pub async fn enrol_key_start(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Reply {
    let v = member(&svc, &headers, true, None).await?;
    let outcome = svc
        .register_security_key(&v.realm, &v.user.id, Some(&host(&headers)))
        .await;
    Ok(match outcome {
        Ok((factor, options)) => registration_started(&factor.id, options),
        Err(e) => failure(e),
    })
}

pub async fn enrol_key_finish(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Json(finish): Json<KeyFinish>,
) -> Reply {
    let v = member(&svc, &headers, true, None).await?;
    let Some(id) = FactorId::parse(&finish.id) else {
        return Err(json_error("Unknown registration."));
    };
    let outcome = svc
        .verify_security_key(
            &v.realm,
            &v.user.id,
            Some(&id),
            finish.credential,
            &finish.name,
        )
        .await;
    Ok(match outcome {
        Ok(_) => json_ok(),
        Err(DomainError::SecondFactorLimitExceeded) => {
            json_error("You have the most second factors an account may have.")
        }
        Err(_) => json_error("The security key's answer was not accepted."),
    })
}

pub async fn enrol_channel(
    State(svc): State<Arc<Service>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let (kind, done) = match channel.as_str() {
        "sms" => (FactorKind::SmsOtp, "sms-added"),
        "email" => (FactorKind::EmailOtp, "email-added"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    factor_change(&svc, &headers, &form.csrf, done, |svc, v| async move {
        svc.add_contact_factor(&v.realm, &v.user.id, kind)
            .await
            .map(drop)
    })
    .await
}

pub async fn set_phone(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<PhoneForm>,
) -> Response {
    let Some(phone) = PhoneNumber::parse(form.phone.trim()) else {
        return see("/ui/factors?notice=invalid-phone");
    };
    let client = client_info(&headers);
    factor_change(
        &svc,
        &headers,
        &form.csrf,
        "code-sent",
        |svc, v| async move {
            let change = HumanChange {
                phone: Some(Some((phone, Proof::SendCode))),
                if_unchanged: IfUnchanged::Refuse,
                ..HumanChange::default()
            };
            match svc
                .change_human(&v.realm, &v.user.id, change, &client)
                .await
            {
                // The number awaiting its code, asked for again: a new code. The proven
                // number: nothing to do.
                Err(DomainError::ContactNotChanged(kind)) => svc
                    .resend_contact_code(&v.realm, &v.user.id, kind, Proof::SendCode, &client)
                    .await
                    .map(drop)
                    .map_err(|e| match e {
                        DomainError::VerificationCodeNotFound => {
                            DomainError::ContactNotChanged(kind)
                        }
                        e => e,
                    }),
                done => done.map(drop),
            }
        },
    )
    .await
}

pub async fn verify_phone(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let client = client_info(&headers);
    factor_change(
        &svc,
        &headers,
        &form.csrf,
        "phone-verified",
        |svc, v| async move {
            let (realm, user) = (&v.realm, &v.user.id);
            svc.verify_contact(realm, user, ContactKind::Phone, form.code.trim(), &client)
                .await
        },
    )
    .await
}
