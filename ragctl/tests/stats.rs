//! `docker stats` arithmetic against recorded engine documents.

use ragctl::stats::{StatsSample, human_binary, human_decimal};

fn load(name: &str) -> StatsSample {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    StatsSample::from_json(&text).expect("fixture parses")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn cgroup_v1_capture_matches_docker_stats() {
    let s = load("stats_cgroup_v1.json").compute();
    // (110971834.. deltas) / system delta x 2 online CPUs x 100
    assert!(close(s.cpu_percent, 3.034602786069652), "{}", s.cpu_percent);
    // usage - total_inactive_file
    assert_eq!(s.mem_used_bytes, 79_687_680);
    assert_eq!(s.mem_limit_bytes, 25_276_502_016);
    assert!(
        close(s.mem_percent, 0.3152638761073735),
        "{}",
        s.mem_percent
    );
    assert_eq!((s.net_rx_bytes, s.net_tx_bytes), (137_637, 2_167_559));
    assert_eq!((s.block_read_bytes, s.block_write_bytes), (0, 0));
    assert_eq!(s.pids, 4);
    // as `docker stats` prints them
    assert_eq!(format!("{:.2}%", s.cpu_percent), "3.03%");
    assert_eq!(human_binary(s.mem_used_bytes), "76MiB");
    assert_eq!(human_binary(s.mem_limit_bytes), "23.54GiB");
    assert_eq!(human_decimal(s.net_rx_bytes as f64), "138kB");
    assert_eq!(human_decimal(s.net_tx_bytes as f64), "2.17MB");
}

#[test]
fn cgroup_v2_document_matches_docker_stats() {
    let s = load("stats_cgroup_v2.json").compute();
    // 400 ms of CPU in 4 s of host CPU time, 4 online CPUs
    assert!(close(s.cpu_percent, 40.0), "{}", s.cpu_percent);
    // usage - inactive_file (no total_* keys on v2)
    assert_eq!(s.mem_used_bytes, 218_103_808 - 29_360_128);
    assert!(close(s.mem_percent, 17.578125), "{}", s.mem_percent);
    assert_eq!(human_binary(s.mem_used_bytes), "180MiB");
    assert_eq!((s.net_rx_bytes, s.net_tx_bytes), (1_500_500, 2_500_700));
    // read entries of both devices; discard ignored
    assert_eq!(s.block_read_bytes, 10_485_760 + 2_048);
    assert_eq!(s.block_write_bytes, 4_096_000);
    assert_eq!(s.pids, 23);
}

#[test]
fn cgroup_v2_without_online_cpus_and_precpu_counts_zero() {
    // first streamed sample: precpu is empty, so no CPU figure yet
    let mut v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/stats_cgroup_v2.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    v["precpu_stats"] = serde_json::json!({});
    v["cpu_stats"]["online_cpus"] = serde_json::Value::Null;
    let s = StatsSample::from_value(&v).compute();
    // system delta is the whole counter but no online CPUs and no percpu list: 0 CPUs
    assert_eq!(s.cpu_percent, 0.0);
}

#[test]
fn v1_block_io_ops_are_case_insensitive_and_cpus_fall_back_to_percpu() {
    let s = StatsSample::from_json(
        r#"{"blkio_stats":{"io_service_bytes_recursive":[
              {"major":8,"minor":0,"op":"Read","value":100},
              {"major":8,"minor":0,"op":"Write","value":50},
              {"major":8,"minor":0,"op":"Total","value":150}]},
            "cpu_stats":{"cpu_usage":{"total_usage":300,"percpu_usage":[1,2,3]},"system_cpu_usage":2000},
            "precpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000}}"#,
    )
    .unwrap()
    .compute();
    assert_eq!((s.block_read_bytes, s.block_write_bytes), (100, 50));
    // 200 / 1000 x 3 CPUs (percpu length) x 100
    assert!(close(s.cpu_percent, 60.0));
}

#[test]
fn odd_documents_never_panic() {
    for doc in [
        "{}",
        "null",
        r#"{"memory_stats":{"usage":5,"stats":{"total_inactive_file":10}}}"#,
        r#"{"cpu_stats":{"system_cpu_usage":1},"precpu_stats":{"system_cpu_usage":5}}"#,
        r#"{"networks":null,"pids_stats":{"current":null}}"#,
        r#"{"memory_stats":{"usage":18446744073709551615,"limit":1}}"#,
    ] {
        let s = StatsSample::from_json(doc).unwrap_or_default().compute();
        assert!(
            s.cpu_percent.is_finite() && s.mem_percent.is_finite(),
            "{doc}"
        );
    }
}

#[test]
fn bollard_model_reads_the_same_directly_as_through_json() {
    // `top` and loadgen read every streamed sample with `from_model`; it
    // must give what the JSON route gives, on both fixtures and on a
    // document that has almost nothing.
    for name in ["stats_cgroup_v1.json", "stats_cgroup_v2.json"] {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let model: bollard::models::ContainerStatsResponse =
            serde_json::from_str(&text).expect("bollard reads the fixture");
        let direct = StatsSample::from_model(&model);
        let via_json = StatsSample::from_value(&model);
        assert_eq!(direct.compute(), via_json.compute(), "{name}");
        assert_eq!(direct.compute(), load(name).compute(), "{name}");
        assert_eq!(direct.read, via_json.read, "{name}");
        assert!(direct.read.is_some(), "{name}");
    }
    let empty: bollard::models::ContainerStatsResponse = serde_json::from_str("{}").unwrap();
    assert_eq!(
        StatsSample::from_model(&empty).compute(),
        StatsSample::from_value(&empty).compute()
    );
}
