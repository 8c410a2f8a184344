//! `rpprof dump --agent URL`: every Python thread's current stack in a running agent, as
//! `py-spy dump` prints it; and the same dump on stderr when SIGQUIT (Ctrl-\) reaches
//! `run`, `record` or `agent`.

use anyhow::Context;
use clap::Args;
use session::StackDump;

use crate::agent_client::AgentClient;
use crate::output;
use crate::python::ExitStatus;

/// `rpprof dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The agent to ask: `http://127.0.0.1:6060` (what `rpprof agent --listen` serves).
    #[arg(long, value_name = "URL")]
    pub agent: String,

    /// The bearer token the agent requires.
    #[arg(long, env = "RPPROF_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Print the dump as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Asks the agent for its threads' stacks and prints them.
pub fn dump(args: &DumpArgs) -> anyhow::Result<ExitStatus> {
    let client = AgentClient::new(&args.agent, args.token.clone())?;
    let body = client.get("/debug/pprof/threads?format=json")?;
    let dump = StackDump::from_json(&body).context("the agent's answer is not a stack dump")?;
    if args.json {
        output::print_stdout(&format!("{}\n", dump.to_json()))?;
    } else {
        output::print_stdout(&dump.to_text())?;
    }
    Ok(ExitStatus::Code(0))
}

/// The SIGQUIT action: prints every thread's stack to stderr; the program goes on.
pub fn print_to_stderr() {
    match StackDump::take() {
        Ok(dump) => eprint!("rpprof: SIGQUIT: stack dump\n{}", dump.to_text()),
        Err(err) => eprintln!("rpprof: SIGQUIT: {err}"),
    }
}
