//! One module per subcommand; each turns parsed arguments into work and an exit status.

pub mod record;
pub mod run;
