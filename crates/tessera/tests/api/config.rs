//! Configuration layering: defaults < TOML file < `TESSERA_*` environment < flags.

use figment::Jail;
use tessera::config::{Mode, Secret, Settings};

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
