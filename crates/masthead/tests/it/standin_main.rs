//! The Stripe STAND-IN (`stripe_standin.rs`, the one the Rust tests use)
//! as a process of its own, for the browser suite: built as the example
//! `stripe-standin`. Prints its base URL as the first line of stdout.
//! Each line read from stdin is the webhook endpoint to deliver signed
//! events to; it stops when stdin closes.

// Test code, like the `it` suite it belongs to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "stripe_standin.rs"]
mod stripe_standin;

use std::io::BufRead;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let standin = stripe_standin::StripeStandIn::start().await;
    println!("{}", standin.base);
    let state = standin.state.clone();
    // Stdin is read on a blocking thread; the server runs meanwhile.
    let _ = tokio::task::spawn_blocking(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let url = line.trim();
            if !url.is_empty() {
                *state.webhook_url.lock().unwrap() = Some(url.to_string());
            }
        }
    })
    .await;
}
