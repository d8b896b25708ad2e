//! Background workers. Each runs only where `--role` asks for workers, stops on the
//! cancellation token, and keeps its state in the database so a restart (or another
//! instance) carries on where it stopped.

pub mod trading;
pub mod webhooks;
