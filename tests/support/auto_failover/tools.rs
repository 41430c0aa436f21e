//! What a formation needs from the machine: pg_autoctl, a PostgreSQL with
//! the monitor's extension, a user to run them as, and loopback ports.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicU64, Ordering},
};

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

/// Installed PostgreSQL versions with a `pg_ctl`, oldest first.
fn versions() -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
}

/// A free loopback port below the kernel's ephemeral range: a server
/// here binds it seconds after it is chosen (after initdb, or a base
/// backup), and no outgoing connection is handed such a port meanwhile,
/// as it may be one from the range that `bind(0)` draws from.
pub(super) fn quiet_port() -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let low: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let span = 8000.min(low.saturating_sub(1024)).max(1);
    let start = u64::from(std::process::id()) * 7919;
    for _ in 0..span {
        let port = low - 1 - (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = u16::try_from(port).expect("a port number");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below {low}")
}

pub(super) fn must(what: &str, command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
