//! `bazaar demo`.

use std::time::Duration;

use bazaar_node::{ResignPolicy, Timing, net::TransportKind};

use crate::{
    cli::{DemoArgs, Failure},
    demo::{self, DemoOptions},
    logging,
    web::{MarketView, Web, WebOptions},
    workers::on_workers,
};

/// How long the demo trades when not told, without a page to watch.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

pub(super) fn run(args: &DemoArgs) -> Result<(), Failure> {
    logging::init(if args.quiet { "warn" } else { "info" });
    let mut timing = Timing::for_peers(args.peers);
    if let Some(think) = args.think {
        timing.think = think;
    }
    let options = DemoOptions {
        peers: args.peers,
        transport: args.transport,
        // With a page, the market runs until the user is done watching.
        duration: args
            .duration
            .or((args.web.is_none()).then_some(DEFAULT_DURATION)),
        seed: args.seed,
        kill_trader_after: args.kill_trader_after,
        resign: ResignPolicy {
            after: args.resign_every,
            after_sales: args.resign_after_sales,
        },
        roles: args.roles.clone(),
        timing,
        quiet: args.quiet,
    };
    let web = args.web.map(|addr| WebOptions {
        addr,
        control: args.web_control,
    });
    let transport = args.transport;
    let result = super::runtime()?.block_on(on_workers(async move {
        // Only the mem transport can split the market in two.
        let web = Web::start_if(web, || view(&options), transport == TransportKind::Mem)
            .await
            .map_err(Failure::input)?;
        demo::run(&options, web)
            .await
            .map_err(|e| Failure::input(format!("cannot start the {transport} transport: {e}")))
    }))?;
    println!("{}", result.report);
    if result.audit.passed() {
        Ok(())
    } else {
        Err(Failure::run("the audit failed (see above)"))
    }
}

/// The page's view of the demo's peers, with their roles.
fn view(options: &DemoOptions) -> MarketView {
    let roles: Vec<(u32, String)> = (1..=options.peers)
        .map(|id| (id, options.role(id).name().to_owned()))
        .collect();
    MarketView::new("demo", std::time::Instant::now(), &roles)
}
