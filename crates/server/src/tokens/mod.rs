//! Token minting and verification: RS256 or ES256 ID tokens with the claims Firebase clients expect,
//! and the signing keys behind them, shared by every node through the store; and the custom
//! tokens a backend makes for its users to sign in with.

mod custom;
mod idp;
mod idtoken;
mod keys;

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value};

pub use custom::{CUSTOM_TOKEN_AUDIENCE, CustomToken, CustomTokenError, CustomTokens};
pub use idp::{IdpClaims, IdpCredential, IdpProvider, IdpTokenError, IdpTokens};
pub use idtoken::{
    FirebaseClaims, IdTokenClaims, Signing, TokenSigner, TokenVerifier, issuer,
    profile_and_custom_claims, session_cookie_issuer,
};
pub use keys::{SigningKeys, TokenAlgorithm};

/// The payload of a JWT (three dot-separated parts, the first two base64url JSON objects),
/// its signature unchecked.
fn jwt_payload(raw: &str) -> Option<Map<String, Value>> {
    let object = |part: &str| {
        let bytes = BASE64URL_NOPAD
            .decode(part.trim_end_matches('=').as_bytes())
            .ok()?;
        serde_json::from_slice::<Map<String, Value>>(&bytes).ok()
    };
    let parts: Vec<&str> = raw.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return None;
    };
    object(header)?;
    object(payload)
}

/// ID tokens live one hour, as Firebase's do (`expiresIn: "3600"`).
pub const ID_TOKEN_LIFETIME_SECS: i64 = 3600;
