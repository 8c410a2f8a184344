//! Writing a profile to a file a user asked for, as a [`View`] shows it (the view and the
//! format's writer decide everything about its looks: `flamegraph::View`), atomically.

use anyhow::Context;
use flamegraph::{Profile, View};

use crate::output::{write_atomically, OutputTarget};

/// Writes the profile to one target, atomically.
pub fn write_target(profile: &Profile, target: &OutputTarget, view: &View) -> anyhow::Result<()> {
    // A value kind the profile lacks is the user's mistake, said as such, not a failed write.
    if view.value.is_some() {
        view.value_index(profile)?;
    }
    let gzip = target.format.gzip_for(&target.path);
    write_atomically(&target.path, |out| {
        view.write(profile, target.format, gzip, out)
            .with_context(|| format!("cannot write {}", target.format.name))
    })
}
