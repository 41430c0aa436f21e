//! What a formation needs from the machine: pg_autoctl, a PostgreSQL with
//! the monitor's extension, and a user to run them as.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::support::pg::versions;

/// What a formation runs, and as whom.
pub(super) struct Tools {
    pub(super) autoctl: PathBuf,
    pub(super) pg_ctl: PathBuf,
    /// (uid, gid) of the `postgres` user, when root.
    pub(super) run_as: Option<(u32, u32)>,
    /// The clusters' superuser: the user `pg_autoctl` runs as.
    pub(super) superuser: String,
}

/// What the formation needs: `pg_autoctl`, a PostgreSQL with the monitor's
/// extension, and a user to run them as; or why not.
pub(super) fn installed() -> Result<Tools, String> {
    let autoctl = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain(versions().into_iter().map(|(_, bin)| bin))
        .map(|dir| dir.join("pg_autoctl"))
        .find(|p| p.is_file())
        .ok_or("pg_auto_failover is not installed (no pg_autoctl)")?;
    let bin = versions()
        .into_iter()
        .filter(|(v, _)| {
            Path::new(&format!(
                "/usr/share/postgresql/{v}/extension/pgautofailover.control"
            ))
            .is_file()
        })
        .map(|(_, bin)| bin)
        .next_back()
        .ok_or("no installed PostgreSQL has the pgautofailover extension")?;
    let id = |args: &[&str]| -> Option<String> {
        let out = Command::new("id").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let (run_as, superuser) = if id(&["-u"]).as_deref() == Some("0") {
        let uid = id(&["-u", "postgres"]).and_then(|s| s.parse().ok());
        let gid = id(&["-g", "postgres"]).and_then(|s| s.parse().ok());
        let (Some(uid), Some(gid)) = (uid, gid) else {
            return Err("running as root with no postgres user to run pg_autoctl as".to_owned());
        };
        (Some((uid, gid)), "postgres".to_owned())
    } else {
        (None, id(&["-un"]).ok_or("no user name (id -un)")?)
    };
    Ok(Tools {
        autoctl,
        pg_ctl: bin.join("pg_ctl"),
        run_as,
        superuser,
    })
}
