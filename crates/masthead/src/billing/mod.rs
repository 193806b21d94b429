//! Billing: Stripe. The subscription rule itself is pure and lives in
//! `masthead_core::billing::subscription`; this module holds what speaks
//! Stripe's formats. (Checkout, the webhook route and the reconcile job
//! arrive with the billing issue.)

pub mod signature;
