//! `bazaar count-buys`: the counted market, on one thread so that its
//! instructions do not depend on how threads interleave.

use crate::{
    bench::CountingMarket,
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
        .block_on(market.run(args.buys, args.seed))
        .map_err(|e| Failure::run(format!("count-buys: {e}")))?;
    println!("{answered} buys answered");
    Ok(())
}
