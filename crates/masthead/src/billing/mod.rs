//! Billing: Stripe. The subscription rule itself is pure and lives in
//! `masthead_core::billing::subscription`; here are the signature check,
//! the API client and the webhook. (Checkout and the account page's
//! billing section arrive with the rest of the billing issue.)

pub mod signature;
pub mod stripe;
pub mod webhook;
