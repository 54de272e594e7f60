//! The generated ZITADEL protobuf types: prost messages, tonic services and their pbjson
//! (protojson) mapping, from `proto/` by `build.rs`. One module per protobuf package, because
//! the generated code names other packages by relative paths.
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

macro_rules! package {
    ($name:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $name, ".rs"));
        include!(concat!(env!("OUT_DIR"), "/", $name, ".serde.rs"));
    };
}

pub mod google {
    pub mod rpc {
        package!("google.rpc");
    }
}

pub mod zitadel {
    pub mod v1 {
        package!("zitadel.v1");
    }
    pub mod idp {
        pub mod v1 {
            package!("zitadel.idp.v1");
        }
        pub mod v2 {
            package!("zitadel.idp.v2");
        }
    }
    pub mod object {
        pub mod v2 {
            package!("zitadel.object.v2");
        }
    }
    pub mod user {
        pub mod v1 {
            package!("zitadel.user.v1");
        }
        pub mod v2 {
            package!("zitadel.user.v2");
        }
    }
    pub mod management {
        pub mod v1 {
            package!("zitadel.management.v1");
        }
    }
    pub mod auth {
        pub mod v1 {
            package!("zitadel.auth.v1");
        }
    }
    pub mod org {
        pub mod v2 {
            package!("zitadel.org.v2");
        }
    }
    pub mod session {
        pub mod v2 {
            package!("zitadel.session.v2");
        }
    }
    pub mod settings {
        pub mod v2 {
            package!("zitadel.settings.v2");
        }
    }
    pub mod filter {
        pub mod v2 {
            package!("zitadel.filter.v2");
        }
    }
    pub mod metadata {
        pub mod v1 {
            package!("zitadel.metadata.v1");
        }
        pub mod v2 {
            package!("zitadel.metadata.v2");
        }
    }
}
