//! `gatehouse serve` through a real process and a real HTTP client: the
//! whole life of requests, refusals, faults. One test binary, one module
//! per area (docs/service.md is the guide these tests pin).

// Each area uses part of the harness; a helper unused by one build of the
// modules is not dead.
#[allow(dead_code)]
mod harness;

// The real browser of the console's end-to-end tests.
#[allow(dead_code)]
mod browser;

mod api;
mod audit;
mod auth;
mod autonomy;
mod batch;
mod console_a11y;
mod console_attack_x1;
mod console_attack_x2;
mod console_batch;
mod console_browser;
#[allow(dead_code)]
mod console_client;
#[allow(dead_code)]
mod console_common;
mod console_expiry;
mod console_oidc;
mod console_overview;
mod console_pages;
mod console_promises;
mod console_queue;
mod console_request;
mod console_review;
mod console_safety;
mod console_samples;
mod console_search;
mod console_security;
mod console_signin;
mod durability;
mod expiry;
#[allow(dead_code)]
mod fake_idp;
mod flows;
mod guarantees;
mod idempotency;
mod lists;
mod operations;
mod perf;
mod promises;
mod races;
mod reload;
mod replicas;
mod samples;
mod shadow;
mod surface;
mod waiting;
mod webhooks;
