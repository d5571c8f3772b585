//! `scale` as the user reads it: the plan (also for `--dry-run`) and how
//! each step went.

use super::{ScalePlan, Step};

/// Human text of a plan.
pub fn plan_text(p: &ScalePlan, dry_run: bool) -> String {
    let mut out = format!(
        "{} service `{}`{}: {} -> {} replicas\n",
        p.mode,
        p.service,
        if p.project.is_empty() {
            String::new()
        } else {
            format!(" in project `{}`", p.project)
        },
        p.current,
        p.desired
    );
    if let Some(t) = &p.template {
        out += &format!("  clone of {t}\n");
    }
    for c in &p.create {
        let nets: Vec<String> = c
            .networks
            .iter()
            .map(|(n, a)| {
                if a.is_empty() {
                    n.clone()
                } else {
                    format!("{n} (aliases {})", a.join(", "))
                }
            })
            .collect();
        out += &format!(
            "  create {}  image {}  networks {}\n",
            c.name,
            c.image,
            if nets.is_empty() {
                "-".into()
            } else {
                nets.join("; ")
            }
        );
    }
    for s in &p.start {
        out += &format!("  start  {s}\n");
    }
    for r in &p.remove {
        out += &format!("  stop and remove {r}\n");
    }
    for s in &p.stop {
        out += &format!("  stop   {s}\n");
    }
    if p.create.is_empty()
        && p.remove.is_empty()
        && p.start.is_empty()
        && p.stop.is_empty()
        && p.mode == "compose"
    {
        out += "  nothing to do\n";
    }
    for n in &p.notes {
        out += &format!("  note: {n}\n");
    }
    if dry_run {
        out += "dry run: nothing changed\n";
    }
    out
}

/// Human text of the steps.
pub fn steps_text(steps: &[Step], total: f64) -> String {
    let mut out = String::new();
    for s in steps {
        if s.ok {
            out += &format!(
                "  {} {}{} in {:.1} s\n",
                s.action,
                s.name,
                s.url
                    .as_ref()
                    .map(|u| format!(", ready at {u}"))
                    .unwrap_or_default(),
                s.seconds
            );
        } else {
            out += &format!(
                "  FAILED {} {}: {}\n",
                s.action,
                s.name,
                s.error.as_deref().unwrap_or("?")
            );
        }
    }
    out += &format!("done in {total:.1} s\n");
    out
}
