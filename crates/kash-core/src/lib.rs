//! The pure domain of the platform. Nothing here performs I/O: the server, the store and the
//! CLIs all build on these types, so a rule written here holds everywhere.

pub mod amm;
pub mod apikey;
pub mod error;
pub mod ids;
pub mod money;
pub mod numbers;
pub mod org_roles;
pub mod owner;
pub mod revenue;
pub mod scope;
pub mod tier;
pub mod time;

pub use error::ErrorCode;
pub mod problem;
pub mod route_policy;

pub use problem::{Issue, Problem};
pub mod signature;
