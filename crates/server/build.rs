//! Generates the ZITADEL protobuf messages (prost), their gRPC services (tonic) and their
//! protojson mapping (pbjson) from `proto/`. protoc comes vendored from crates.io, so a build
//! needs no system protobuf compiler.

use std::error::Error;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/google/rpc/status.proto",
    "proto/zitadel/message.proto",
    "proto/zitadel/object.proto",
    "proto/zitadel/metadata.proto",
    "proto/zitadel/idp.proto",
    "proto/zitadel/user.proto",
    "proto/zitadel/management.proto",
    "proto/zitadel/auth.proto",
    "proto/zitadel/object/v2/object.proto",
    "proto/zitadel/filter/v2/filter.proto",
    "proto/zitadel/metadata/v2/metadata.proto",
    "proto/zitadel/user/v2/user.proto",
    "proto/zitadel/user/v2/query.proto",
    "proto/zitadel/user/v2/user_service.proto",
    "proto/zitadel/org/v2/org_service.proto",
    "proto/zitadel/session/v2/session_service.proto",
    "proto/zitadel/idp/v2/idp.proto",
    "proto/zitadel/settings/v2/settings_service.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = out.join("descriptors.bin");
    let include = protoc_bin_vendored::include_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let protos: Vec<PathBuf> = PROTOS.iter().map(PathBuf::from).collect();
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptors)
        .compile_well_known_types(true)
        .generate_default_stubs(true)
        // Undecodable requests are InvalidArgument, not tonic's Internal (see the module).
        .codec_path("crate::dialects::zitadel::codec::ZitadelCodec")
        .extern_path(".google.protobuf", "::pbjson_types")
        // protojson's timestamp text (`Z`), which pbjson-types does not write.
        .extern_path(
            ".google.protobuf.Timestamp",
            "crate::dialects::zitadel::timestamp::Timestamp",
        )
        .compile_with_config(config, &protos, &[PathBuf::from("proto"), include])?;
    pbjson_build::Builder::new()
        .register_descriptors(&std::fs::read(&descriptors)?)?
        .ignore_unknown_fields()
        .build(&[".zitadel", ".google.rpc"])?;
    Ok(())
}
