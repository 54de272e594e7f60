//! Configuration layering: defaults < TOML file < `TESSERA_*` environment < flags.

use figment::Jail;
use tessera::config::{Mode, Secret, Settings};
use tessera_server::cpus::RequestCpus;

#[test]
fn defaults_match_the_design() {
    Jail::expect_with(|_| {
        let config = Settings::default().load().map_err(|e| e.to_string())?;
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir.to_str(), Some("./tessera-data"));
        assert_eq!(
            config.database_url().expose(),
            "sqlite://./tessera-data/tessera.db"
        );
        assert_eq!(
            config.master_key_path().to_str(),
            Some("./tessera-data/master.key")
        );
        assert_eq!(config.mode, Mode::Dev);
        assert_eq!(config.request_cpus, RequestCpus::Auto);
        Ok(())
    });
}

#[test]
fn file_then_environment_then_flags() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tessera.toml",
            r#"
                listen = "127.0.0.1:9000"
                data_dir = "/var/lib/tessera"
                default_project = "from-file"
                [passwords]
                memory_kib = 8192
                iterations = 3
                parallelism = 1
            "#,
        )?;
        jail.set_env("TESSERA_LISTEN", "127.0.0.1:9001");
        jail.set_env("TESSERA_PASSWORDS__ITERATIONS", "4");
        let flags = Settings {
            config: Some("tessera.toml".into()),
            data_dir: Some("/srv/tessera".into()),
            ..Settings::default()
        };
        let config = flags.load().map_err(|e| e.to_string())?;
        assert_eq!(
            config.listen.to_string(),
            "127.0.0.1:9001",
            "env beats file"
        );
        assert_eq!(
            config.data_dir.to_str(),
            Some("/srv/tessera"),
            "flag beats file"
        );
        assert_eq!(config.default_project, "from-file");
        assert_eq!(config.passwords.memory_kib, 8192);
        assert_eq!(config.passwords.iterations, 4);
        let flags = Settings {
            listen: Some("127.0.0.1:9002".parse().unwrap()),
            ..flags
        };
        assert_eq!(
            flags.load().map_err(|e| e.to_string())?.listen.to_string(),
            "127.0.0.1:9002",
            "flag beats env"
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_everywhere() {
    Jail::expect_with(|jail| {
        jail.create_file("tessera.toml", "lisen = \"127.0.0.1:1\"\n")?;
        let from_file = Settings {
            config: Some("tessera.toml".into()),
            ..Settings::default()
        }
        .load();
        assert!(from_file.unwrap_err().to_string().contains("lisen"));
        jail.set_env("TESSERA_DATABSE_URL", "sqlite://x");
        assert!(
            Settings::default()
                .load()
                .unwrap_err()
                .to_string()
                .contains("databse_url")
        );
        Ok(())
    });
}

#[test]
fn secrets_are_never_printed() {
    Jail::expect_with(|jail| {
        jail.set_env(
            "TESSERA_DATABASE_URL",
            "postgres://tessera:hunter2@db/tessera",
        );
        let config = Settings::default().load().map_err(|e| e.to_string())?;
        assert_eq!(
            config.database_url().expose(),
            "postgres://tessera:hunter2@db/tessera"
        );
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(***)");
        Ok(())
    });
}

#[test]
fn delivery_settings_use_the_documented_names() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tessera.toml",
            r#"
                [email]
                templates_dir = "/etc/tessera/templates"
                [limits]
                per_destination = { count = 3 }
            "#,
        )?;
        jail.set_env("TESSERA_CONFIG", "tessera.toml");
        jail.set_env("TESSERA_SMS_PROVIDER", "twilio");
        jail.set_env("TESSERA_SMS_TWILIO_BASE_URL", "https://sms.example.com");
        jail.set_env("TESSERA_SMS_TWILIO_ACCOUNT_SID", "AC1");
        jail.set_env("TESSERA_SMS_TWILIO_AUTH_TOKEN", "0123456789");
        jail.set_env("TESSERA_SMS_FROM", "+15555550000");
        jail.set_env("TESSERA_SMTP_URL", "smtps://user:pw@mail.example.com");
        jail.set_env("TESSERA_EMAIL_FROM", "MFA <mfa@example.com>");
        jail.set_env("TESSERA_EMAIL_SMTP_CA_FILE", "/etc/tessera/smtp-ca.pem");
        jail.set_env("TESSERA_LIMITS__PER_IP__COUNT", "7");
        jail.set_env("TESSERA_CLIENT_IP", "x_forwarded_for");
        let settings = Settings {
            config: Some("tessera.toml".into()),
            ..Settings::default()
        };
        let config = settings.load().map_err(|e| e.to_string())?;
        assert_eq!(config.sms.provider, tessera::config::SmsProvider::Twilio);
        assert_eq!(
            config.sms.twilio_base_url.as_deref(),
            Some("https://sms.example.com")
        );
        assert_eq!(config.sms.twilio_account_sid.as_deref(), Some("AC1"));
        assert_eq!(
            config.sms.twilio_auth_token,
            Some(Secret::new("0123456789"))
        );
        assert_eq!(config.sms.from.as_deref(), Some("+15555550000"));
        assert_eq!(
            config.email.smtp_url,
            Some(Secret::new("smtps://user:pw@mail.example.com"))
        );
        assert_eq!(config.email.from, "MFA <mfa@example.com>");
        assert_eq!(
            config.email.smtp_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/tessera/smtp-ca.pem"))
        );
        assert_eq!(
            config.email.templates_dir.as_deref(),
            Some(std::path::Path::new("/etc/tessera/templates"))
        );
        assert_eq!(
            config.client_ip,
            tessera_server::http::ClientIpSource::XForwardedFor
        );
        // Limits a file or the environment leave out keep production's defaults.
        let limits = config.delivery_limits();
        assert_eq!(
            (
                limits.per_destination.count,
                limits.per_destination.window_seconds
            ),
            (3, 3600)
        );
        assert_eq!(limits.per_ip.count, 7);
        assert_eq!(limits.per_country.count, 1000);
        assert!(!format!("{config:?}").contains("0123456789"), "{config:?}");
        Ok(())
    });
}

#[test]
fn dev_mode_has_no_delivery_limits_and_production_has_them() {
    Jail::expect_with(|jail| {
        let dev = Settings::default().load().map_err(|e| e.to_string())?;
        assert_eq!(
            dev.delivery_limits(),
            tessera_server::service::DeliveryLimits::OFF
        );
        jail.set_env("TESSERA_MODE", "production");
        let production = Settings::default().load().map_err(|e| e.to_string())?;
        assert_eq!(
            production.delivery_limits(),
            tessera_server::service::DeliveryLimits::default()
        );
        Ok(())
    });
}

#[test]
fn a_dev_master_key_is_generated_into_a_data_dir_that_does_not_exist_yet() {
    // On PostgreSQL nothing else creates the data dir before the master key.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not/yet/master.key");
    let first = tessera::master_key::load_or_generate(&path).unwrap();
    let again = tessera::master_key::load_or_generate(&path).unwrap();
    assert_eq!(first.id(), again.id());
}
