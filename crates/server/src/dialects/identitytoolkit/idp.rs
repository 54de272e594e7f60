//! `accounts:signInWithIdp` (v3 `verifyAssertion`): signing in with, or linking, an account at
//! an identity provider. The credential comes as URL parameters, in the emulator's layout:
//! `requestUri`'s query, then `postBody` (a form), then `requestUri`'s fragment, the later
//! winning; `providerId` names the provider and `id_token` (or `access_token`) holds the
//! account's claims, as a JWT whose signature is not checked or as a JSON object, the
//! emulator's fake credentials (`sub` required; `email`, `email_verified`, `name`,
//! `picture`, `screen_name`, `given_name`, `family_name` used). Production refuses every
//! provider before that (see `Service::sign_in_with_idp`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use data_encoding::BASE64URL_NOPAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_core::{DomainError, EmailAddress, Identity};
use url::Url;

use super::accounts::realm_for;
use super::error::ItError;
use super::extract::{Body, Caller};
use super::wire::{SignInWithIdpRequest, SignInWithIdpResponse};
use crate::service::{IdpAssertion, IdpOutcome, Service};

/// First factors that are not identity providers.
const NOT_PROVIDERS: [&str; 5] = ["password", "phone", "anonymous", "custom", "firebase"];

#[utoipa::path(post, path = "/v1/accounts:signInWithIdp", tag = "accounts",
    request_body = SignInWithIdpRequest, responses((status = 200, body = SignInWithIdpResponse)))]
pub async fn sign_in_with_idp(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignInWithIdpRequest>,
) -> Result<Json<SignInWithIdpResponse>, ItError> {
    let credential = Credential::parse(req.request_uri.as_deref(), req.post_body.as_deref())?;
    let tenant = req.tenant_id.as_deref();
    let (realm, linking) = match req.id_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => {
            let me = svc
                .authenticate(&caller.token_scope(), tenant, token)
                .await?;
            (me.realm, Some(me.user.id))
        }
        None => (realm_for(&svc, &caller, None, tenant).await?, None),
    };
    let mut reply = credential.reply();
    reply.tenant_id = realm.tenant_id.clone();
    let outcome = svc
        .sign_in_with_idp(&realm, &credential.assertion, linking.as_ref())
        .await;
    match outcome {
        Ok(IdpOutcome::SignedIn(signed_in)) => {
            let user = &signed_in.user;
            reply.local_id = Some(user.id.to_string());
            if user.email.is_some() && user.email == credential.assertion.email {
                reply.email_verified = user.email_verified;
            }
            reply.is_new_user = Some(signed_in.is_new);
            reply.email_recycled = signed_in.email_recycled.then_some(true);
            reply.outcome = signed_in.outcome.into();
        }
        Ok(IdpOutcome::NeedConfirmation { user }) => {
            reply.local_id = Some(user.id.to_string());
            reply.need_confirmation = Some(true);
            reply.verified_provider = Some(
                user.identities
                    .iter()
                    .map(|identity| identity.provider_id.clone())
                    .collect(),
            );
        }
        // The JS SDK turns the message into its error and keeps the credential with it, for
        // `credentialFromError`.
        Err(e @ (DomainError::IdentityLinked | DomainError::EmailExists))
            if req.return_idp_credential == Some(true) =>
        {
            reply.error_message = Some(ItError::from(e).message());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Json(reply))
}

/// A provider's credential, read.
struct Credential {
    assertion: IdpAssertion,
    /// The claims as given, for `rawUserInfo`.
    claims: Map<String, Value>,
    id_token: Option<String>,
    access_token: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

/// The claims of a fake credential that Tessera reads.
#[derive(Deserialize)]
struct Claims {
    sub: Option<Value>,
    email: Option<String>,
    email_verified: Option<Value>,
    name: Option<String>,
    picture: Option<String>,
    screen_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

impl Credential {
    fn parse(request_uri: Option<&str>, post_body: Option<&str>) -> Result<Self, ItError> {
        let request_uri = request_uri
            .filter(|uri| !uri.is_empty())
            .ok_or(ItError::code("MISSING_REQUEST_URI"))?;
        let mut url = Url::parse(request_uri).map_err(|_| ItError::code("INVALID_REQUEST_URI"))?;
        let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let post_body = post_body.unwrap_or_default();
        params.extend(url::form_urlencoded::parse(post_body.as_bytes()).into_owned());
        params.extend(
            url::form_urlencoded::parse(url.fragment().unwrap_or_default().as_bytes()).into_owned(),
        );
        url.set_fragment(None);
        let provider_id = params
            .get("providerId")
            .map(|p| p.to_lowercase())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                ItError::with_detail(
                    "INVALID_CREDENTIAL_OR_PROVIDER_ID",
                    &format!("Invalid IdP response/credential: {url}"),
                )
            })?;
        if NOT_PROVIDERS.contains(&provider_id.as_str()) {
            return Err(ItError::with_detail(
                "INVALID_PROVIDER_ID",
                &format!("{provider_id} is not an identity provider."),
            ));
        }
        let id_token = params.remove("id_token").filter(|t| !t.is_empty());
        let access_token = params.remove("access_token").filter(|t| !t.is_empty());
        let claims = match (id_token.as_deref().map(claims_of), access_token.as_deref()) {
            (Some(Some(claims)), _) => claims,
            (Some(None), _) => {
                return Err(ItError::with_detail(
                    "INVALID_IDP_RESPONSE",
                    "Unable to parse id_token: not a JWT or a JSON object.",
                ));
            }
            (None, Some(token)) => claims_of(token).ok_or(ItError::with_detail(
                "INVALID_IDP_RESPONSE",
                "Only an id_token credential is accepted.",
            ))?,
            (None, None) => {
                return Err(ItError::with_detail(
                    "INVALID_IDP_RESPONSE",
                    "An id_token is required.",
                ));
            }
        };
        let read: Claims = serde_json::from_value(Value::Object(claims.clone()))
            .map_err(|_| invalid_claims("The claims are not of the expected types."))?;
        let raw_id = match read.sub {
            Some(Value::String(sub)) if !sub.is_empty() => sub,
            Some(Value::String(_)) | None => {
                return Err(invalid_claims(
                    "Invalid Idp Response: id_token missing required fields.",
                ));
            }
            Some(_) => return Err(invalid_claims("The \"sub\" field must be a string.")),
        };
        let email = match read.email.as_deref() {
            Some(raw) => Some(EmailAddress::parse(raw).ok_or(invalid_claims(
                "The \"email\" field is not an email address.",
            ))?),
            None => None,
        };
        // Apple sends the string "true".
        let email_verified = match &read.email_verified {
            Some(Value::Bool(verified)) => *verified,
            Some(Value::String(verified)) => verified == "true",
            _ => false,
        };
        Ok(Credential {
            assertion: IdpAssertion {
                identity: Identity {
                    provider_id,
                    raw_id,
                    email: email.as_ref().map(ToString::to_string),
                    display_name: read.name,
                    photo_url: read.picture,
                    screen_name: read.screen_name,
                },
                email,
                email_verified,
            },
            claims,
            id_token,
            access_token,
            given_name: read.given_name,
            family_name: read.family_name,
        })
    }

    /// The answer's part that describes the provider's account.
    fn reply(&self) -> SignInWithIdpResponse {
        let identity = &self.assertion.identity;
        let provider_id = identity.provider_id.as_str();
        let google = provider_id == "google.com";
        let federated_id = if google {
            format!("https://accounts.google.com/{}", identity.raw_id)
        } else {
            identity.raw_id.clone()
        };
        let email = self.assertion.email.as_ref().map(ToString::to_string);
        let raw_user_info = if google {
            let mut scopes = "openid https://www.googleapis.com/auth/userinfo.profile".to_owned();
            if email.is_some() {
                scopes.push_str(" https://www.googleapis.com/auth/userinfo.email");
            }
            json!({
                "granted_scopes": scopes,
                "id": identity.raw_id,
                "name": identity.display_name,
                "given_name": self.given_name,
                "family_name": self.family_name,
                "verified_email": self.assertion.email_verified,
                "locale": "en",
                "email": email,
                "picture": identity.photo_url,
            })
        } else {
            Value::Object(self.claims.clone())
        };
        SignInWithIdpResponse {
            kind: "identitytoolkit#VerifyAssertionResponse",
            provider_id: provider_id.to_owned(),
            federated_id,
            email,
            email_verified: self.assertion.email_verified,
            display_name: identity.display_name.clone(),
            full_name: identity.display_name.clone(),
            first_name: self.given_name.clone().filter(|_| google),
            last_name: self.family_name.clone().filter(|_| google),
            photo_url: identity.photo_url.clone(),
            screen_name: identity.screen_name.clone(),
            raw_user_info: raw_user_info.to_string(),
            // Clients build most providers' credentials from an access token, so there is
            // always one, as in the emulator.
            oauth_access_token: self
                .access_token
                .clone()
                .unwrap_or_else(|| format!("TesseraFakeAccessToken_{provider_id}")),
            oauth_id_token: self.id_token.clone(),
            ..SignInWithIdpResponse::default()
        }
    }
}

fn invalid_claims(detail: &str) -> ItError {
    ItError::with_detail("INVALID_IDP_RESPONSE", detail)
}

/// The claims of a fake credential: a JSON object, or a JWT's payload, its signature
/// unchecked (the emulator's fake tokens are unsigned).
fn claims_of(token: &str) -> Option<Map<String, Value>> {
    if token.starts_with('{') {
        return serde_json::from_str(token).ok();
    }
    let payload = token.split('.').nth(1)?;
    let bytes = BASE64URL_NOPAD
        .decode(payload.trim_end_matches('=').as_bytes())
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
