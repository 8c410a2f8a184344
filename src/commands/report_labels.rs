//! `rpprof report --label`: `KEY=VALUE` keeps only the samples whose label KEY has that
//! value (as `go tool pprof -tagfocus` does; several must all hold); `KEY` splits the
//! report by the label's values: a table of each value's share, then the heaviest
//! functions under each value, and, for `-o` outputs, the value as a root under each
//! thread (as `--group-by label:KEY`, unless another grouping is asked for).

use anyhow::bail;
use flamegraph::labels::GroupBy;
use flamegraph::{top, Profile};

/// The `--label` arguments, sorted out.
#[derive(Debug, Default)]
pub struct LabelChoice {
    /// `KEY=VALUE` filters.
    pub filters: Vec<(String, String)>,
    /// The key to split by.
    pub split: Option<String>,
}

impl LabelChoice {
    /// Parses `KEY` and `KEY=VALUE` arguments; at most one `KEY`.
    pub fn parse(args: &[String]) -> anyhow::Result<LabelChoice> {
        let mut choice = LabelChoice::default();
        for arg in args {
            match arg.split_once('=') {
                Some((key, value)) if !key.is_empty() => {
                    choice.filters.push((key.to_owned(), value.to_owned()))
                }
                Some(_) => bail!("--label `{arg}`: expected KEY or KEY=VALUE"),
                None if choice.split.is_some() => {
                    bail!("--label: only one KEY to split by (use KEY=VALUE to filter)")
                }
                None => choice.split = Some(arg.clone()),
            }
        }
        Ok(choice)
    }

    /// The profile with only the samples the filters keep; an error that lists the
    /// values the label takes when none is left.
    pub fn filter(&self, mut profile: Profile) -> anyhow::Result<Profile> {
        for (key, value) in &self.filters {
            let kept = profile.only_label(key, Some(value));
            if kept.is_empty() {
                bail!(
                    "no samples with label {key}={value} ({})",
                    known_values(&profile, key)
                );
            }
            profile = kept;
        }
        Ok(profile)
    }

    /// The grouping outputs get: the split key's when nothing else was asked for.
    pub fn group_by(&self, asked: &GroupBy) -> GroupBy {
        match (&self.split, asked) {
            (Some(key), GroupBy::Nothing) => GroupBy::Label(key.clone()),
            _ => asked.clone(),
        }
    }
}

/// What a label takes in a profile, for messages: `endpoint takes /cart, /` or `no sample
/// has label endpoint (labels: tenant)`.
fn known_values(profile: &Profile, key: &str) -> String {
    let values: Vec<String> = profile
        .label_values(key, profile.meta.count_index())
        .into_iter()
        .filter_map(|(value, _)| value)
        .collect();
    if values.is_empty() {
        format!("no sample has a label {key}")
    } else {
        format!("{key} takes {}", values.join(", "))
    }
}

/// The split report: each value's share of the kind at `value`, then the heaviest
/// functions under each (over all threads) of `viewed`, a label-free view of `profile`.
pub fn split_report(
    profile: &Profile,
    key: &str,
    value: usize,
    limit: usize,
    view: impl Fn(&Profile) -> Profile,
) -> anyhow::Result<String> {
    let values = profile.label_values(key, value);
    if values.iter().all(|(v, _)| v.is_none()) {
        bail!("{}", known_values(profile, key));
    }
    let kind = profile
        .meta
        .kinds
        .get(value)
        .cloned()
        .unwrap_or(flamegraph::ValueKind::SAMPLES);
    let total: u64 = values.iter().map(|(_, t)| t.get(value)).sum();
    let width = values
        .iter()
        .map(|(v, _)| v.as_deref().map_or(6, str::len))
        .max()
        .unwrap_or(0)
        .max(key.len() + 6);
    let mut text = format!(
        "{:<width$}  {:>12}  {:>6}\n",
        format!("label {key}"),
        kind.name,
        "share"
    );
    for (label_value, totals) in &values {
        let n = totals.get(value);
        text.push_str(&format!(
            "{:<width$}  {:>12}  {:>5.1}%\n",
            label_value.as_deref().unwrap_or("(none)"),
            kind.format(n),
            100.0 * n as f64 / total.max(1) as f64
        ));
    }
    for (label_value, _) in &values {
        let part = view(&profile.only_label(key, label_value.as_deref()));
        let title = match label_value {
            Some(v) => format!("{key}={v}, all threads"),
            None => format!("no {key} label, all threads"),
        };
        let table = top::TopTable::new(&title, &part, &part.threads, value, limit);
        text.push('\n');
        text.push_str(&table.render());
    }
    Ok(text)
}
