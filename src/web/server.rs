//! The HTTP side of the page: the page and its script from the binary,
//! `/state` as JSON, `/events` as Server-Sent Events, and the controls.
//!
//! Every page shares one stream of snapshots (a `watch` channel): a
//! snapshot is made once however many pages are open, and a page that
//! reads slowly skips to the newest one instead of holding anything back.
//! A page that goes away drops its receiver, and that is all it cost.

use std::{convert::Infallible, time::Duration};

use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::Stream;
use tokio::{net::TcpListener, sync::watch};

use super::control::{Control, ControlSender};

/// The page, its script and its style, built into the binary.
const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// What every request handler shares.
#[derive(Clone)]
pub struct Shared {
    /// The newest snapshot, as JSON.
    pub snapshots: watch::Receiver<String>,
    /// Where controls go; `None` without `--web-control`.
    pub controls: Option<ControlSender>,
}

/// Serves the page on `listener` until the task is dropped or aborted.
pub fn serve(listener: TcpListener, shared: Shared) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", PAGE)))
        .route("/page.js", get(|| asset("text/javascript", SCRIPT)))
        .route("/page.css", get(|| asset("text/css", STYLE)))
        .route("/state", get(state))
        .route("/events", get(events))
        .route("/control/kill-trader", post(kill_trader))
        .route("/control/restart/{peer}", post(restart))
        .route("/control/partition", post(partition))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page\n") })
        .with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn state(State(shared): State<Shared>) -> Response {
    let json = shared.snapshots.borrow().clone();
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// The snapshots as they are made, the current one first.
async fn events(
    State(shared): State<Shared>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut snapshots = shared.snapshots;
    snapshots.mark_changed();
    let stream = futures::stream::unfold(snapshots, |mut rx| async move {
        rx.changed().await.ok()?;
        let json = rx.borrow_and_update().clone();
        Some((Ok(Event::default().data(json)), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

async fn kill_trader(State(shared): State<Shared>) -> Response {
    act(&shared, Control::KillTrader).await
}

async fn restart(State(shared): State<Shared>, Path(peer): Path<u32>) -> Response {
    act(&shared, Control::Restart(peer)).await
}

async fn partition(State(shared): State<Shared>) -> Response {
    act(&shared, Control::Partition).await
}

/// Performs a control if controls are on: 200 and what was done, 409 and
/// why not, or 403 when the market was started without `--web-control`.
async fn act(shared: &Shared, control: Control) -> Response {
    let Some(controls) = &shared.controls else {
        return (
            StatusCode::FORBIDDEN,
            "controls are off: start with --web-control to turn them on\n",
        )
            .into_response();
    };
    match controls.ask(control).await {
        Ok(done) => (StatusCode::OK, format!("{done}\n")).into_response(),
        Err(why) => (StatusCode::CONFLICT, format!("{why}\n")).into_response(),
    }
}
