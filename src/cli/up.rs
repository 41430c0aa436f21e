//! `bazaar up`: the lab's parent program.

use std::path::{Path, PathBuf};

use bazaar_node::cluster::Cluster;

use crate::{
    books::Books,
    cli::{Failure, InitArgs, UpArgs},
    up::{self, NodeCommand, UpOptions},
    web::{MarketView, Web, WebOptions},
};

pub(super) fn run(args: &UpArgs) -> Result<(), Failure> {
    let cluster_path = cluster_path(args)?;
    let cluster = Cluster::load(&cluster_path).map_err(Failure::input)?;
    let beside = cluster_path.parent().map(PathBuf::from).unwrap_or_default();
    let data_dir = args.data_dir.clone().unwrap_or_else(|| beside.join("data"));
    let program = std::env::current_exe()
        .map_err(|e| Failure::run(format!("cannot find the bazaar binary: {e}")))?;
    let node_args = node_args(args, &cluster_path, &data_dir);
    let books = Books::from_flags(
        args.store.as_deref().or(cluster.store.as_deref()),
        data_dir.clone(),
    )
    .map_err(Failure::input)?;
    // The books first, as every other command does: a store that cannot
    // be opened is one line and exit 2, not six peers that each fail.
    books
        .open()
        .map_err(|e| Failure::input(format!("cannot open the books: {e}")))?;
    let options = UpOptions {
        command: NodeCommand {
            program,
            args: node_args,
        },
        peers: cluster.ids().iter().map(|id| id.0).collect(),
        data_dir,
        books,
        duration: args.duration,
        kill_trader_every: args.kill_trader_every,
        restart_after: args.restart_after,
    };
    let web = args.web.map(|addr| WebOptions {
        addr,
        control: args.web_control,
    });
    let view = || view(&cluster);
    let outcome = super::runtime()?.block_on(async move {
        // Under up, the peers are processes on real sockets: no split.
        let web = Web::start_if(web, view, false)
            .await
            .map_err(Failure::input)?;
        up::run(&options, web).await.map_err(Failure::run)
    })?;
    println!("{}", outcome.report);
    if outcome.passed {
        Ok(())
    } else {
        Err(Failure::run("the audit failed (see above)"))
    }
}

/// The cluster file `up` runs: the one given, or a new one of `--peers N`.
fn cluster_path(args: &UpArgs) -> Result<PathBuf, Failure> {
    match (&args.cluster, args.peers) {
        (Some(path), None) => Ok(path.clone()),
        (None, Some(peers)) => super::init::write(&InitArgs {
            peers,
            out: args.out.clone(),
            host: args.host,
            base_port: args.base_port,
            store: args.store.clone(),
            force: true,
        }),
        (None, None) => Err(Failure::input(
            "say which cluster: --cluster FILE, or --peers N to write one first",
        )),
        (Some(_), Some(_)) => Err(Failure::input(
            "--cluster and --peers: give one (--peers writes a new cluster file)",
        )),
    }
}

/// What every `bazaar node` is given before its `--id`.
fn node_args(args: &UpArgs, cluster_path: &Path, data_dir: &Path) -> Vec<String> {
    let mut node_args = vec![
        "--cluster".to_owned(),
        cluster_path.display().to_string(),
        "--transport".to_owned(),
        args.transport.name().to_owned(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
    ];
    if let Some(url) = &args.store {
        node_args.push("--store".to_owned());
        node_args.push(url.clone());
    }
    if args.quiet {
        node_args.push("--quiet".to_owned());
    }
    if args.web.is_some() {
        node_args.push("--web-feed".to_owned());
    }
    node_args
}

/// The page's view of the cluster's peers, with their roles.
fn view(cluster: &Cluster) -> MarketView {
    let roles: Vec<(u32, String)> = cluster
        .peers
        .iter()
        .map(|p| (p.id.0, p.role.name().to_owned()))
        .collect();
    MarketView::new("up", std::time::Instant::now(), &roles)
}
