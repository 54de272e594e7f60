//! The pages (askama templates in `templates/ui/`). Every page extends `base.html` and so has a
//! `notice`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "ui/sign_in.html")]
pub struct SignIn {
    pub notice: Option<String>,
    pub csrf: String,
}

/// The page an emailed action link opens: a form that uses the link's code, or what came
/// of it (`message`).
#[derive(Template)]
#[template(path = "ui/action.html")]
pub struct Action {
    pub notice: Option<String>,
    pub title: &'static str,
    pub csrf: String,
    pub code: String,
    /// The link's API key, for the links a change of address sends.
    pub api_key: String,
    /// Where to go afterwards: the link's `continueUrl`, else the sign-in page.
    pub next: String,
    pub prompt: String,
    pub button: &'static str,
    /// Whether the form asks for a new password.
    pub password: bool,
    pub message: Option<&'static str>,
}

/// The page a passkey registration link opens: the account, and the link's parameters for
/// the script to post back.
#[derive(Template)]
#[template(path = "ui/passkey_registration.html")]
pub struct PasskeyRegistration {
    pub notice: Option<String>,
    pub csrf: String,
    pub account: String,
    pub user_id: String,
    pub org_id: String,
    pub code_id: String,
    pub code: String,
}

/// The page an invitation's link opens: a form that sets a password with the invitation's
/// code, or what came of it (`message`).
#[derive(Template)]
#[template(path = "ui/invite.html")]
pub struct Invite {
    pub notice: Option<String>,
    pub csrf: String,
    pub user_id: String,
    pub org_id: String,
    /// The link's `loginname`, to name the account (as the link says it, unchecked).
    pub login_name: String,
    pub code: String,
    pub message: Option<&'static str>,
}

/// A channel a code can be sent through, on the second-factor page.
pub struct Channel {
    /// `sms` or `email`: the path segment and the element ids.
    pub kind: &'static str,
    pub to: String,
}

#[derive(Template)]
#[template(path = "ui/second_factor.html")]
pub struct SecondFactor {
    pub notice: Option<String>,
    pub csrf: String,
    pub email: String,
    pub totp: bool,
    pub key: bool,
    pub channels: Vec<Channel>,
}

/// One row of the factor list.
pub struct FactorRow {
    pub id: String,
    pub kind: &'static str,
    pub label: &'static str,
    pub detail: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "ui/factors.html")]
pub struct Factors {
    pub notice: Option<String>,
    pub csrf: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub factors: Vec<FactorRow>,
    /// Ready passkeys (kind `passkey`, the name as detail).
    pub passkeys: Vec<FactorRow>,
    pub has_totp: bool,
    pub has_sms: bool,
    pub has_email: bool,
}

#[derive(Template)]
#[template(path = "ui/enrol_totp.html")]
pub struct EnrolTotp {
    pub notice: Option<String>,
    pub csrf: String,
    pub secret: String,
    pub qr_svg: String,
}

/// A rendered page with its status.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The text of a `?notice=` code; unknown codes show nothing.
pub fn notice(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "invalid-code" => "That code is not right. Try again.",
        "code-sent" => "We sent you a code.",
        "sender-unavailable" => "Codes cannot be sent right now. Use another factor.",
        "too-many" => "Too many codes were sent. Try again later, or use another factor.",
        "totp-added" => "Your authenticator app is set up.",
        "key-added" => "Your security key is added.",
        "passkey-added" => "Your passkey is added. You can sign in with it, without a password.",
        "sms-added" => "Text-message codes are on.",
        "email-added" => "Email codes are on.",
        "phone-verified" => "Your phone number is verified.",
        "invalid-phone" => "That is not a phone number in international format (+15551234567).",
        "unchanged" => "That is your phone number already.",
        "removed" => "Removed.",
        "weak-password" => "Choose a password of at least 6 characters.",
        "limit" => "You have the most second factors an account may have.",
        "expired" => "Your session ended. Sign in again.",
        "failed" => "That did not work. Try again.",
        _ => return None,
    };
    Some(text.to_owned())
}
