//! The page's controls, as requests to the loop that owns the market: the
//! server sends a [`Control`] and waits for its [`Outcome`]; the demo or
//! `up` performs it between two reports.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

/// How many control requests may wait for the market's loop; more are
/// refused at once (a busy page cannot pile them up).
const WAITING: usize = 8;

/// How long the server waits for the loop to act before saying so.
pub const ACT_WITHIN: Duration = Duration::from_secs(2);

/// What a visitor asked the market to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Crash the trader (`demo`) or SIGKILL it (`up`).
    KillTrader,
    /// Start a stopped peer again.
    Restart(u32),
    /// Split the peers in two, or heal the split (`demo` over mem).
    Partition,
}

/// What came of a control: a line for the visitor.
pub type Outcome = Result<String, String>;

/// A control and where its outcome goes.
pub type Request = (Control, oneshot::Sender<Outcome>);

/// The server's end: sends controls to the market's loop.
#[derive(Debug, Clone)]
pub struct ControlSender(mpsc::Sender<Request>);

/// The market loop's end.
pub type ControlReceiver = mpsc::Receiver<Request>;

/// A pair of ends.
pub fn channel() -> (ControlSender, ControlReceiver) {
    let (tx, rx) = mpsc::channel(WAITING);
    (ControlSender(tx), rx)
}

impl ControlSender {
    /// Asks the loop to perform `control` and waits for what it says.
    pub async fn ask(&self, control: Control) -> Outcome {
        let (tx, rx) = oneshot::channel();
        self.0
            .try_send((control, tx))
            .map_err(|_| "the market is busy with earlier controls".to_owned())?;
        match tokio::time::timeout(ACT_WITHIN, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err("the market has stopped".into()),
            Err(_) => Err(format!("the market did not act within {ACT_WITHIN:?}")),
        }
    }
}

/// Waits for the next control; never returns when there is no receiver
/// (no web page, or controls off), so that a `select!` can always poll it.
pub async fn next(controls: &mut Option<ControlReceiver>) -> Request {
    match controls {
        Some(rx) => match rx.recv().await {
            Some(request) => request,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}
