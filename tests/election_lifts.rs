//! `bazaar-election` can be lifted into another project unchanged: a
//! scratch crate outside this workspace depends on it by path alone,
//! builds without any other crate of the bazaar, and runs an election among
//! three peers to a leader.

use std::{path::PathBuf, process::Command};

/// The scratch project's whole program: three peers, a queue of messages,
/// and timers fired once nothing else is in flight.
const MAIN: &str = r#"
use std::collections::{BTreeSet, VecDeque};

use bazaar_election::{Action, Bully, Config, Input, Timer};

fn main() {
    let ids = [1u32, 2, 3];
    let mut peers: Vec<Bully<u32>> = ids
        .iter()
        .map(|&me| Bully::new(me, ids.iter().copied().filter(|&o| o != me), Config::default()))
        .collect();
    let mut queue: VecDeque<(u32, Action<u32>)> = VecDeque::new();
    let mut timers: BTreeSet<(u32, Timer)> = BTreeSet::new();
    for (me, peer) in ids.iter().zip(&mut peers) {
        queue.extend(peer.handle(Input::Start).into_iter().map(|a| (*me, a)));
    }
    for _round in 0..100 {
        while let Some((me, action)) = queue.pop_front() {
            match action {
                Action::Send { to, msg } => {
                    let from = me;
                    let answer = peers[to as usize - 1].handle(Input::Message { from, msg });
                    queue.extend(answer.into_iter().map(|a| (to, a)));
                }
                Action::SetTimer { timer, .. } => {
                    timers.insert((me, timer));
                }
                Action::CancelTimer(timer) => {
                    timers.remove(&(me, timer));
                }
                _ => {}
            }
        }
        let Some((me, timer)) = timers.pop_first() else { break };
        let fired = peers[me as usize - 1].handle(Input::Timer(timer));
        queue.extend(fired.into_iter().map(|a| (me, a)));
    }
    let leaders: BTreeSet<Option<u32>> = peers.iter().map(|p| p.leader().map(|(id, _)| *id)).collect();
    assert_eq!(leaders, BTreeSet::from([Some(3)]), "every peer follows peer 3");
    println!("leader 3");
}
"#;

#[test]
fn a_project_outside_the_workspace_runs_an_election_with_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let election = root.join("crates/election");
    let scratch = std::env::temp_dir().join(format!("bazaar-lifted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"lifted\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nbazaar-election = {{ path = {:?} }}\n\n\
         # Its own workspace: nothing of the bazaar's but the dependency.\n[workspace]\n",
        election.display().to_string()
    );
    std::fs::write(scratch.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(scratch.join("src/main.rs"), MAIN).unwrap();

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--quiet", "--offline"])
        .current_dir(&scratch)
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(stdout.trim(), "leader 3");
    let lock = std::fs::read_to_string(scratch.join("Cargo.lock")).unwrap();
    let packages: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = "))
        .collect();
    assert_eq!(packages, ["\"bazaar-election\"", "\"lifted\""], "{lock}");
    std::fs::remove_dir_all(&scratch).unwrap();
}
