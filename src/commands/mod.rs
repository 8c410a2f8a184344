//! One module per subcommand; each turns parsed arguments into work and an exit status.

pub mod agent;
pub mod agent_pid;
pub mod diff;
pub mod dump;
pub mod ps;
pub mod record;
pub mod record_pid;
pub mod report;
pub mod report_labels;
pub mod run;
pub mod top;
