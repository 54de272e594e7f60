//! Token minting and verification: RS256 or ES256 ID tokens with the claims Firebase clients expect,
//! and the signing keys behind them, shared by every node through the store; and the custom
//! tokens a backend makes for its users to sign in with.

mod custom;
mod idtoken;
mod keys;

pub use custom::{CUSTOM_TOKEN_AUDIENCE, CustomToken, CustomTokenError, CustomTokens};
pub use idtoken::{
    FirebaseClaims, IdTokenClaims, Signing, TokenSigner, TokenVerifier, issuer,
    profile_and_custom_claims, session_cookie_issuer,
};
pub use keys::{SigningKeys, TokenAlgorithm};

/// ID tokens live one hour, as Firebase's do (`expiresIn: "3600"`).
pub const ID_TOKEN_LIFETIME_SECS: i64 = 3600;
