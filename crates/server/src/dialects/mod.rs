pub mod identitytoolkit;
pub mod zitadel;
