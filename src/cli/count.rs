//! `bazaar count-buys`: the counted market, on one thread so that its
//! instructions do not depend on how threads interleave.

use crate::{
    bench::{self, CountingMarket},
    cli::{CountBuysArgs, Failure},
};

pub(super) fn run(args: &CountBuysArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::run(format!("cannot start the async runtime: {e}")))?;
    let market = CountingMarket {
        buyers: args.buyers,
        sellers: args.sellers,
    };
    let answered = runtime
        .block_on(bench::count_buys(market, args.buys, args.seed))
        .map_err(|e| Failure::run(format!("count-buys: {e}")))?;
    println!("{answered} buys answered");
    Ok(())
}
