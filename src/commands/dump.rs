//! `rpprof dump --agent URL` and `rpprof dump --pid PID`: every Python thread's current
//! stack in a running agent or any running rpprof process (attached: `crate::attach`), as
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
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "pid",
        conflicts_with = "pid"
    )]
    pub agent: Option<String>,

    /// A running rpprof process to ask (started by `rpprof run`, `rpprof SCRIPT`, a
    /// `python3` link, `record` or `agent`; `rpprof ps` lists them).
    #[arg(long, value_name = "PID")]
    pub pid: Option<i32>,

    /// The bearer token the agent requires.
    #[arg(long, env = "RPPROF_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Print the dump as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Asks the agent for its threads' stacks and prints them.
pub fn dump(args: &DumpArgs) -> anyhow::Result<ExitStatus> {
    let dump = match (&args.agent, args.pid) {
        (Some(agent), _) => {
            let client = AgentClient::new(agent, args.token.clone())?;
            let body = client.get("/debug/pprof/threads?format=json")?;
            StackDump::from_json(&body).context("the agent's answer is not a stack dump")?
        }
        (None, Some(pid)) => {
            let request = serde_json::json!({"kind": "dump"});
            let connection = crate::attach::requester::connect(pid, &request)?;
            let (_, body) = connection.answer()?;
            StackDump::from_json(&body).context("the answer is not a stack dump")?
        }
        (None, None) => anyhow::bail!("--agent URL or --pid PID is required"),
    };
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
