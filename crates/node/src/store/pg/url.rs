//! A store's URL: one server (`postgres://user@host:port/db`) or several,
//! in libpq's form (`postgres://user@h1:5432,h2:5432/db?target_session_attrs=read-write`),
//! checked whole before anything connects, and named without its password.

use postgres::config::{Host, TargetSessionAttrs};

use super::errors::chain;
use crate::store::StoreError;

/// The form a store URL takes, for error messages.
pub(super) const FORM: &str = "postgres://user@host:port/database, or several hosts as \
     postgres://user@h1:5432,h2:5432/database?target_session_attrs=read-write";

/// Parses and checks `url`: a PostgreSQL URL with at least one TCP or
/// socket host, one port or one per host, and a `target_session_attrs`
/// the client knows (`any`, `read-write`, `read-only`). A trader writes,
/// so a URL asking only for read-only servers is refused too.
///
/// # Errors
/// [`StoreError::Io`] naming the URL (without its password) and what is
/// wrong with it.
pub(super) fn parse(url: &str) -> Result<postgres::Config, StoreError> {
    let bad = |what: String| StoreError::Io {
        path: redact(url).into(),
        detail: format!("{what}; the form is {FORM}"),
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(bad("not a PostgreSQL URL".into()));
    }
    let config: postgres::Config = url
        .parse()
        .map_err(|e| bad(format!("not a PostgreSQL URL: {}", chain(&e))))?;
    let hosts = config.get_hosts().len();
    if hosts == 0 {
        return Err(bad("no host".into()));
    }
    if let Some(i) = config
        .get_hosts()
        .iter()
        .position(|h| matches!(h, Host::Tcp(name) if name.is_empty()))
    {
        return Err(bad(format!("host {} of {hosts} is empty", i + 1)));
    }
    let ports = config.get_ports().len();
    if ports > 1 && ports != hosts {
        return Err(bad(format!(
            "{hosts} hosts but {ports} ports: give one port for all, or one for each host"
        )));
    }
    if config.get_target_session_attrs() == TargetSessionAttrs::ReadOnly {
        return Err(bad(
            "target_session_attrs=read-only: the trader writes its books; \
             use read-write (or any, with one server)"
                .into(),
        ));
    }
    Ok(config)
}

/// How errors and reports name the database: its URL without the
/// password, every host with its port.
pub(super) fn name_of(config: &postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let ports = config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(host) => format!("{host}:{}", port(i)),
            Host::Unix(path) => format!("{}:{}", path.display(), port(i)),
        })
        .collect();
    let hosts = match hosts.is_empty() {
        true => "localhost:5432".to_owned(),
        false => hosts.join(","),
    };
    let db = config.get_dbname().unwrap_or(user);
    let attrs = match config.get_target_session_attrs() {
        TargetSessionAttrs::ReadWrite => "?target_session_attrs=read-write",
        _ => "",
    };
    format!("postgres://{user}@{hosts}/{db}{attrs}")
}

/// A URL that did not parse, with anything between `://user:` and `@`
/// (a password) blanked out.
pub(super) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((login, host)) => match login.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(url: &str) -> String {
        parse(url).expect_err(url).to_string()
    }

    #[test]
    fn one_server_and_several_parse_and_are_named_without_the_password() {
        let one = parse("postgres://bazaar:secret@db:5433/books").unwrap();
        assert_eq!(name_of(&one), "postgres://bazaar@db:5433/books");
        let two =
            parse("postgres://bazaar:secret@h1:5432,h2:5433/books?target_session_attrs=read-write")
                .unwrap();
        assert_eq!(
            name_of(&two),
            "postgres://bazaar@h1:5432,h2:5433/books?target_session_attrs=read-write"
        );
        let default_port = parse("postgresql://bazaar@h1,h2:6000/books").unwrap();
        assert_eq!(
            name_of(&default_port),
            "postgres://bazaar@h1:5432,h2:6000/books"
        );
    }

    #[test]
    fn an_unknown_session_attribute_is_named() {
        let e = error_of("postgres://bazaar@h1,h2/books?target_session_attrs=primary");
        assert!(e.contains("target_session_attrs"), "{e}");
        assert!(e.contains("postgres://bazaar@h1,h2/books"), "{e}");
    }

    #[test]
    fn read_only_servers_cannot_hold_a_trader() {
        let e = error_of("postgres://bazaar@h1,h2/books?target_session_attrs=read-only");
        assert!(e.contains("read-only"), "{e}");
    }

    #[test]
    fn ports_must_match_the_hosts() {
        // Each host of the URL's list comes with a port (5432 if none is
        // written); a `port` parameter adds more.
        let e = error_of("postgres://bazaar@h1,h2,h3/books?port=1,2");
        assert!(e.contains("3 hosts but 5 ports"), "{e}");
    }

    #[test]
    fn malformed_urls_say_what_they_are_not() {
        for url in [
            "mysql://bazaar@h1/books",
            "postgres://bazaar@h1:notaport/books",
            "postgres://bazaar@h1:5432,,h2:5432/books?target_session_attrs=read-write",
            "postgres://bazaar@h1/books?no_such_option=1",
            "postgres://bazaar@/books",
        ] {
            let e = error_of(url);
            assert!(e.contains("the form is postgres://"), "{url}: {e}");
        }
    }

    #[test]
    fn a_password_never_shows() {
        let e = error_of("postgres://bazaar:hunter2@h1:x/books");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
