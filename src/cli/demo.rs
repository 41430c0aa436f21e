//! `bazaar demo`.

use bazaar_node::{ResignPolicy, Timing};

use crate::{
    cli::{DemoArgs, Failure},
    demo::{self, DemoOptions},
    logging,
    workers::on_workers,
};

pub(super) fn run(args: &DemoArgs) -> Result<(), Failure> {
    logging::init(if args.quiet { "warn" } else { "info" });
    let mut timing = Timing::for_peers(args.peers);
    if let Some(think) = args.think {
        timing.think = think;
    }
    let options = DemoOptions {
        peers: args.peers,
        transport: args.transport,
        duration: args.duration,
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
    let result = super::runtime()?
        .block_on(on_workers(async move { demo::run(&options).await }))
        .map_err(|e| {
            Failure::input(format!(
                "cannot start the {} transport: {e}",
                args.transport
            ))
        })?;
    println!("{}", result.report);
    if result.audit.passed() {
        Ok(())
    } else {
        Err(Failure::run("the audit failed (see above)"))
    }
}
