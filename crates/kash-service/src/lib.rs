//! The operations the server and the operator CLI share: configuration, secrets, and every
//! state change on users, organizations and keys. Both front ends call these functions, so a
//! rule (a validation, the key cap, an audit entry) is written once.

pub mod audit;
pub mod config;
pub mod console;
pub mod demo;
pub mod fields;
pub mod keys;
pub mod killswitch;
pub mod orgs;
pub mod partners;
pub mod revenue;
pub mod secrets;
pub mod services;
pub mod ssrf;
pub mod threads;
pub mod trading;
pub mod users;
pub mod webhooks;

pub use services::{ServiceError, Services};
