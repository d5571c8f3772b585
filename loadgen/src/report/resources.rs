//! The watched containers' figures in a report ([`Resources`]): the raw
//! samples a run took (`crate::resources`), their aggregation per stage
//! (per container and summed over the replicas, each as mean and max), and
//! the CPU and memory thresholds judged on them.
//!
//! Like the histograms, the samples travel in the JSON, so `merge`
//! rebuilds the figures from them: samples are deduplicated per container
//! and wall-clock second (N loadgen instances watching the same containers
//! count each reading once) and assigned to stages by their time.
//!
//! Judging: `cpu < 80%` reads, for a stage, the worst container's mean
//! CPU (% of its limit); `cpu.max` the worst sample of any container;
//! `memory` and `memory.max` the same for memory. A rule without a stage
//! is judged on every stage and reports the worst; a stage without
//! samples is left out. Without samples at all the rule is not judged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::threshold::{Metric, Threshold, Verdict};

use super::Meta;

/// What `[resources]` and `--watch` asked for, the samples, and the
/// figures per stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resources {
    /// What was watched: `PROJECT` or `PROJECT/SERVICE`; `null` when
    /// nothing was (resource thresholds without `[resources]` or `--watch`).
    pub watch: Option<String>,
    /// Why there are no figures: nothing watched, engine unreachable, no
    /// container matched. Absent when there are figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every container sampled, by name.
    pub containers: Vec<ContainerMeta>,
    /// Figures per stage, in the order of the report's `stages`.
    pub stages: Vec<StageResources>,
    /// The samples the figures come from (about one per container per
    /// second), in time order.
    pub samples: Vec<ResourceSample>,
}

/// A sampled container and its limits (`docker inspect`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerMeta {
    /// Short id (12 characters).
    pub id: String,
    pub name: String,
    /// Compose service.
    pub service: Option<String>,
    /// CPUs it may use; `null`: no limit (percentages are of the CPUs online).
    pub cpu_limit_cores: Option<f64>,
    /// Memory limit; `null`: none (percentages are of the host's memory).
    pub mem_limit_bytes: Option<u64>,
}

/// One stats reading of one container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceSample {
    /// Unix time, ms.
    pub t_ms: u64,
    /// Short container id.
    pub id: String,
    /// CPU in % of the container's limit (`docker stats` CPU % / 100 /
    /// limit in cores).
    pub cpu_pct: f64,
    /// Memory in % of the limit, as `docker stats`.
    pub mem_pct: f64,
    /// CPU used, in cores (`docker stats` CPU % / 100).
    pub cpu_cores: f64,
    /// The limit the percentage is of: `--cpus`, or the CPUs online.
    pub cpu_limit_cores: f64,
    pub mem_bytes: u64,
    pub mem_limit_bytes: u64,
}

/// The figures of one stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageResources {
    pub stage: String,
    /// One entry per container sampled in the stage, by name.
    pub containers: Vec<ContainerFigures>,
    /// The replicas together, per wall-clock second; `null` without samples.
    pub all: Option<AllFigures>,
}

/// Mean and largest value of a figure.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct MeanMax {
    pub mean: f64,
    pub max: f64,
}

impl MeanMax {
    fn of(values: impl Iterator<Item = f64>) -> MeanMax {
        let (mut n, mut sum, mut max) = (0usize, 0.0, f64::MIN);
        for v in values {
            n += 1;
            sum += v;
            max = max.max(v);
        }
        if n == 0 {
            return MeanMax::default();
        }
        MeanMax {
            mean: sum / n as f64,
            max,
        }
    }
}

/// One container over one stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerFigures {
    pub id: String,
    pub name: String,
    pub samples: u64,
    /// CPU, % of its limit.
    pub cpu_pct: MeanMax,
    /// Memory, % of its limit.
    pub mem_pct: MeanMax,
    /// CPU used, cores.
    pub cpu_cores: MeanMax,
    /// Memory used, bytes (as `docker stats`).
    pub mem_bytes: MeanMax,
}

/// The replicas summed, second by second, over one stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AllFigures {
    /// Most containers sampled in one second.
    pub replicas: u64,
    /// Seconds with samples.
    pub seconds: u64,
    /// CPU used by all of them, cores.
    pub cpu_cores: MeanMax,
    /// CPU used over their summed limits, %.
    pub cpu_pct: MeanMax,
    pub mem_bytes: MeanMax,
    /// Memory used over their summed limits, %.
    pub mem_pct: MeanMax,
}

/// What the report says when resource thresholds exist but nothing was
/// watched.
pub const NOT_WATCHED: &str =
    "no containers watched: pass --watch PROJECT[/SERVICE] or set [resources]";

impl Resources {
    /// Samples not yet assigned to stages ([`Resources::aggregate`] does).
    pub fn unaggregated(
        watch: Option<String>,
        note: Option<String>,
        mut containers: Vec<ContainerMeta>,
        mut samples: Vec<ResourceSample>,
    ) -> Resources {
        containers.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        containers.dedup_by(|a, b| a.id == b.id);
        samples.sort_by(|a, b| a.t_ms.cmp(&b.t_ms).then(a.id.cmp(&b.id)));
        // The same reading twice (a report merged with itself) is kept once.
        samples.dedup_by(|a, b| a.id == b.id && a.t_ms == b.t_ms);
        Resources {
            watch,
            note,
            containers,
            stages: Vec::new(),
            samples,
        }
    }

    /// Nothing watched, for a run with resource thresholds.
    pub fn not_watched() -> Resources {
        Resources::unaggregated(None, Some(NOT_WATCHED.into()), Vec::new(), Vec::new())
    }

    /// The figures of every stage of `meta`, from the samples. A sample
    /// belongs to the stage whose planned span holds its time (the last
    /// stage takes everything after, as its requests do); per container
    /// and second only the last sample counts.
    pub fn aggregate(mut self, meta: &Meta) -> Resources {
        let t0 = meta.started_unix_ms as f64 / 1000.0;
        // (id, second) -> sample: the last reading of each second.
        let mut per_second: BTreeMap<(String, u64), &ResourceSample> = BTreeMap::new();
        for s in &self.samples {
            per_second.insert((s.id.clone(), s.t_ms / 1000), s);
        }
        let mut by_stage: Vec<Vec<&ResourceSample>> = vec![Vec::new(); meta.stages.len()];
        for s in per_second.into_values() {
            let elapsed = s.t_ms as f64 / 1000.0 - t0;
            let i = meta
                .stages
                .iter()
                .position(|st| elapsed < st.end_s)
                .unwrap_or(meta.stages.len().saturating_sub(1));
            if let Some(v) = by_stage.get_mut(i) {
                v.push(s);
            }
        }
        let names: BTreeMap<&str, &str> = self
            .containers
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        let stages = meta
            .stages
            .iter()
            .zip(&by_stage)
            .map(|(st, samples)| stage_figures(&st.name, samples, &names))
            .collect();
        self.stages = stages;
        self
    }

    /// Whether any sample was taken.
    pub fn measured(&self) -> bool {
        !self.samples.is_empty()
    }

    /// The same samples and containers, from several reports (`merge`).
    pub fn merged(all: &[&Resources]) -> Option<Resources> {
        let first = all.first()?;
        let measured = all.iter().any(|r| r.measured());
        Some(Resources::unaggregated(
            all.iter().find_map(|r| r.watch.clone()),
            if measured { None } else { first.note.clone() },
            all.iter().flat_map(|r| r.containers.clone()).collect(),
            all.iter().flat_map(|r| r.samples.clone()).collect(),
        ))
    }
}

fn stage_figures(
    stage: &str,
    samples: &[&ResourceSample],
    names: &BTreeMap<&str, &str>,
) -> StageResources {
    let mut by_id: BTreeMap<&str, Vec<&ResourceSample>> = BTreeMap::new();
    let mut by_second: BTreeMap<u64, Vec<&ResourceSample>> = BTreeMap::new();
    for s in samples {
        by_id.entry(s.id.as_str()).or_default().push(s);
        by_second.entry(s.t_ms / 1000).or_default().push(s);
    }
    let mut containers: Vec<ContainerFigures> = by_id
        .into_iter()
        .map(|(id, v)| ContainerFigures {
            id: id.to_string(),
            name: names.get(id).unwrap_or(&id).to_string(),
            samples: v.len() as u64,
            cpu_pct: MeanMax::of(v.iter().map(|s| s.cpu_pct)),
            mem_pct: MeanMax::of(v.iter().map(|s| s.mem_pct)),
            cpu_cores: MeanMax::of(v.iter().map(|s| s.cpu_cores)),
            mem_bytes: MeanMax::of(v.iter().map(|s| s.mem_bytes as f64)),
        })
        .collect();
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    let all = (!by_second.is_empty()).then(|| {
        let ticks: Vec<(usize, f64, f64, f64, f64)> = by_second
            .values()
            .map(|v| {
                let cores: f64 = v.iter().map(|s| s.cpu_cores).sum();
                let limit: f64 = v.iter().map(|s| s.cpu_limit_cores).sum();
                let mem: f64 = v.iter().map(|s| s.mem_bytes as f64).sum();
                let mem_limit: f64 = v.iter().map(|s| s.mem_limit_bytes as f64).sum();
                let pct = |a: f64, b: f64| if b > 0.0 { a / b * 100.0 } else { 0.0 };
                (v.len(), cores, pct(cores, limit), mem, pct(mem, mem_limit))
            })
            .collect();
        AllFigures {
            replicas: ticks.iter().map(|t| t.0 as u64).max().unwrap_or(0),
            seconds: ticks.len() as u64,
            cpu_cores: MeanMax::of(ticks.iter().map(|t| t.1)),
            cpu_pct: MeanMax::of(ticks.iter().map(|t| t.2)),
            mem_bytes: MeanMax::of(ticks.iter().map(|t| t.3)),
            mem_pct: MeanMax::of(ticks.iter().map(|t| t.4)),
        }
    });
    StageResources {
        stage: stage.to_string(),
        containers,
        all,
    }
}

/// A resource rule's figure in one stage: the worst container's, with its
/// name; `None` without samples in the stage.
pub fn observe_stage(t: &Threshold, s: &StageResources) -> Option<(f64, String)> {
    let figure = |c: &ContainerFigures| match t.metric {
        Metric::Cpu => c.cpu_pct.mean,
        Metric::CpuMax => c.cpu_pct.max,
        Metric::Memory => c.mem_pct.mean,
        Metric::MemoryMax => c.mem_pct.max,
        _ => f64::NAN,
    };
    s.containers
        .iter()
        .map(|c| (figure(c), c.name.clone()))
        .filter(|(v, _)| v.is_finite())
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Judge a resource rule: on the stage it names, or on every stage (the
/// worst stage's figure). Not judged when nothing was measured (the note
/// says why) or the stage it names holds no sample.
pub fn judge(t: &Threshold, r: &Resources) -> Verdict {
    if !r.measured() {
        return t.not_judged(r.note.as_deref().unwrap_or(NOT_WATCHED));
    }
    let worst = r
        .stages
        .iter()
        .filter(|s| t.scope.as_ref().is_none_or(|n| n == &s.stage))
        .filter_map(|s| observe_stage(t, s).map(|(v, c)| (v, c, s.stage.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match worst {
        None => t.not_judged(&format!(
            "no container sampled in stage {:?}",
            t.scope.as_deref().unwrap_or("")
        )),
        Some((v, container, stage)) => {
            let mut verdict = t.judge(Some(v));
            verdict.note = if t.scope.is_some() {
                format!("worst: {container}")
            } else {
                format!("worst: {container} in {stage:?}")
            };
            verdict
        }
    }
}

/// The run-wide resource rules judged on one stage alone (for the stage's
/// verdicts and where the SLO first broke); nothing without samples there.
pub fn judge_one_stage(thresholds: &[Threshold], s: &StageResources) -> Vec<Verdict> {
    thresholds
        .iter()
        .filter(|t| t.scope.is_none() && t.metric.is_resource())
        .filter_map(|t| {
            let (v, container) = observe_stage(t, s)?;
            let mut verdict = t.judge(Some(v));
            verdict.note = format!("worst: {container}");
            Some(verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::StagePlan;

    fn meta(stages: &[(&str, f64, f64)]) -> Meta {
        Meta {
            profile: "p".into(),
            profile_path: "p.toml".into(),
            model: "open".into(),
            target: "http://127.0.0.1:1".into(),
            time_scale: 1.0,
            user_scale: 1.0,
            instances: vec!["a".into()],
            started: String::new(),
            started_unix_ms: 1_000_000,
            ended_unix_ms: 1_020_000,
            planned_s: 20.0,
            stop_reason: "completed".into(),
            partial: false,
            thresholds: vec![],
            test_plan: String::new(),
            stages: stages
                .iter()
                .map(|(n, a, b)| StagePlan {
                    name: n.to_string(),
                    start_s: *a,
                    end_s: *b,
                    load_from: 1.0,
                    load_to: 1.0,
                })
                .collect(),
        }
    }

    /// A sample at `s` seconds into the run (t0 = 1000 s).
    fn sample(id: &str, s: f64, cpu_cores: f64, limit: f64, mem_mib: u64) -> ResourceSample {
        ResourceSample {
            t_ms: 1_000_000 + (s * 1000.0) as u64,
            id: id.into(),
            cpu_pct: cpu_cores / limit * 100.0,
            mem_pct: mem_mib as f64 / 1024.0 * 100.0,
            cpu_cores,
            cpu_limit_cores: limit,
            mem_bytes: mem_mib << 20,
            mem_limit_bytes: 1 << 30,
        }
    }

    fn container(id: &str, name: &str) -> ContainerMeta {
        ContainerMeta {
            id: id.into(),
            name: name.into(),
            service: Some("ragd".into()),
            cpu_limit_cores: Some(0.5),
            mem_limit_bytes: Some(1 << 30),
        }
    }

    /// Two replicas with a 0.5-CPU limit over two 10 s stages: `a` busy
    /// in the second stage, `b` light throughout; `b` only from 3 s on.
    fn resources() -> Resources {
        let mut samples = Vec::new();
        for s in 0..20 {
            let busy = if s < 10 { 0.1 } else { 0.45 };
            samples.push(sample("a", s as f64 + 0.5, busy, 0.5, 256));
            if s >= 3 {
                samples.push(sample("b", s as f64 + 0.5, 0.05, 0.5, 128));
            }
        }
        Resources::unaggregated(
            Some("shop/ragd".into()),
            None,
            vec![container("b", "shop-ragd-2"), container("a", "shop-ragd-1")],
            samples,
        )
        .aggregate(&meta(&[("calm", 0.0, 10.0), ("busy", 10.0, 20.0)]))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn stages_per_container_and_summed() {
        let r = resources();
        assert_eq!(r.stages.len(), 2);
        let calm = &r.stages[0];
        let names: Vec<&str> = calm.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["shop-ragd-1", "shop-ragd-2"]);
        assert_eq!(calm.containers[0].samples, 10);
        assert_eq!(calm.containers[1].samples, 7);
        assert!(close(calm.containers[0].cpu_pct.mean, 20.0));
        assert!(close(calm.containers[0].mem_pct.max, 25.0));
        let all = calm.all.as_ref().unwrap();
        assert_eq!((all.replicas, all.seconds), (2, 10));
        // 3 s with `a` alone (0.1 of 0.5), 7 s with both (0.15 of 1.0).
        assert!(close(all.cpu_pct.mean, (3.0 * 20.0 + 7.0 * 15.0) / 10.0));
        assert!(close(all.cpu_pct.max, 20.0));
        assert!(close(all.cpu_cores.max, 0.15));
        assert!(close(all.mem_bytes.max, (384u64 << 20) as f64));
        let busy = &r.stages[1];
        assert!(close(busy.containers[0].cpu_pct.mean, 90.0));
        assert!(close(busy.all.as_ref().unwrap().cpu_pct.mean, 50.0));
    }

    #[test]
    fn duplicate_samples_of_one_second_count_once() {
        let mut r = resources();
        let again = r.samples.clone();
        r.samples.extend(again);
        let twice = Resources::merged(&[&r, &resources()])
            .unwrap()
            .aggregate(&meta(&[("calm", 0.0, 10.0), ("busy", 10.0, 20.0)]));
        assert_eq!(twice.stages, resources().stages);
        assert_eq!(twice.containers.len(), 2);
    }

    #[test]
    fn rules_judge_the_worst_container_and_stage() {
        let r = resources();
        let rule = |s: &str| s.parse::<Threshold>().unwrap();
        let v = judge(&rule("cpu < 80%"), &r);
        assert!(!v.pass && !v.skipped, "{v:?}");
        assert!(close(v.observed.unwrap(), 90.0));
        assert_eq!(v.note, "worst: shop-ragd-1 in \"busy\"");
        let v = judge(&rule("calm: cpu < 80%"), &r);
        assert!(v.pass);
        assert!(close(v.observed.unwrap(), 20.0));
        assert!(judge(&rule("memory < 80%"), &r).pass);
        let v = judge(&rule("memory.max < 20%"), &r);
        assert!(!v.pass);
        assert!(close(v.observed.unwrap(), 25.0));
        assert!(close(
            judge(&rule("cpu.max <= 90%"), &r).observed.unwrap(),
            90.0
        ));
        // Per stage: the calm stage passes, the busy one fails.
        let rules = [rule("cpu < 80%"), rule("p95 < 1s"), rule("calm: cpu < 5%")];
        let per: Vec<bool> = r
            .stages
            .iter()
            .map(|s| judge_one_stage(&rules, s).iter().all(|v| v.pass))
            .collect();
        assert_eq!(per, [true, false]);
        assert_eq!(judge_one_stage(&rules, &r.stages[0]).len(), 1);
    }

    #[test]
    fn merged_reports_keep_and_rejudge_the_figures() {
        use crate::report::{Report, merge};
        use crate::stats::RunAcc;
        let mut m = meta(&[("calm", 0.0, 10.0), ("busy", 10.0, 20.0)]);
        m.thresholds = vec!["cpu < 80%".into(), "calm: memory < 80%".into()];
        let acc = RunAcc::new(m.started_unix_ms, vec!["health".into()], 2);
        let full = resources();
        // Instance a took the calm stage's readings, b the busy one's.
        let (first, second): (Vec<ResourceSample>, Vec<ResourceSample>) = full
            .samples
            .iter()
            .cloned()
            .partition(|s| s.t_ms < 1_010_000);
        let part = |s: &[ResourceSample]| {
            Resources::unaggregated(
                full.watch.clone(),
                None,
                full.containers.clone(),
                s.to_vec(),
            )
        };
        let a = Report::build_with(m.clone(), &acc, Some(part(&first)));
        let mut mb = m.clone();
        mb.instances = vec!["b".into()];
        let b = Report::build_with(mb, &acc, Some(part(&second)));
        assert!(a.passed, "the busy half is b's: {:?}", a.thresholds);
        let merged = merge(&[a, b]).unwrap();
        let res = merged.resources.as_ref().unwrap();
        assert_eq!(res.stages, full.stages);
        assert_eq!(res.samples, full.samples);
        assert!(!merged.passed);
        assert!(close(merged.thresholds[0].observed.unwrap(), 90.0));
        assert!(merged.thresholds[1].pass);
        // The busy stage's own verdicts say so too.
        assert!(merged.stages[1].verdicts.iter().any(|v| !v.pass));
        assert_eq!(merged.slo_break.as_ref().unwrap().stage_name, "busy");
        // A report without resources merged with one that has them keeps them.
        let plain = Report::build(m.clone(), &acc);
        assert!(plain.resources.is_some(), "resource rules: a section");
        let mut none = m;
        none.thresholds.clear();
        assert!(Report::build(none, &acc).resources.is_none());
    }

    #[test]
    fn nothing_measured_is_not_judged_and_passes() {
        let r = Resources::not_watched().aggregate(&meta(&[("only", 0.0, 5.0)]));
        let v = judge(&"cpu < 80%".parse().unwrap(), &r);
        assert!(v.pass && v.skipped, "{v:?}");
        assert_eq!(
            v.note,
            "not judged: no containers watched: pass --watch PROJECT[/SERVICE] or set [resources]"
        );
        assert!(v.to_string().starts_with("SKIP  cpu < 80%"), "{v}");
        assert_eq!(r.stages[0].all, None);
    }
}
