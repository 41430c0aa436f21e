//! The other side of `/metrics`: fetch a node's exposition with a short
//! timeout, and read the few figures `bazaar status` shows.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

/// Fetches `http://addr/metrics`, giving up after `timeout` in all.
///
/// # Errors
/// A connection that fails, hangs or answers anything but 200, named.
pub fn fetch(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(left()))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: bazaar\r\nconnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        stream
            .set_read_timeout(Some(left()))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("no answer in {timeout:?}: {e}")),
        }
        if Instant::now() >= deadline {
            return Err(format!("no full answer in {timeout:?}"));
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "not an HTTP answer".to_owned())?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        return Err(format!("answered {status:?}"));
    }
    Ok(body.to_owned())
}

/// The samples of an exposition, by name with labels (`bazaar_epoch`,
/// `bazaar_peer_info{id="3",role="buyer"}`).
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// A label's value in the first sample named `name`: `role` in
/// `bazaar_peer_info{id="3",role="buyer"}`.
pub fn label(samples: &BTreeMap<String, f64>, name: &str, label: &str) -> Option<String> {
    let key = samples.keys().find(|k| k.split('{').next() == Some(name))?;
    let labels = key.split_once('{')?.1.trim_end_matches('}');
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == label).then(|| v.trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP bazaar_epoch x\n# TYPE bazaar_epoch gauge\nbazaar_epoch 3\n\
        bazaar_peer_info{id=\"2\",role=\"seller\"} 1\nbazaar_buys_answered_total 41\n# EOF\n";

    #[test]
    fn reads_samples_and_labels() {
        let s = samples(TEXT);
        assert_eq!(s.get("bazaar_epoch"), Some(&3.0));
        assert_eq!(s.get("bazaar_buys_answered_total"), Some(&41.0));
        assert_eq!(
            label(&s, "bazaar_peer_info", "role").as_deref(),
            Some("seller")
        );
        assert_eq!(label(&s, "bazaar_peer_info", "colour"), None);
    }
}
