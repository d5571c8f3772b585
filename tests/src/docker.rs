//! Helpers for tests against the real Docker engine, shared by ragctl's and
//! loadgen's: a ragd image built here from the workspace's debug binary (no
//! pulls: `docker import` of a root filesystem holding ragd and the
//! libraries `ldd` lists), ragd containers labelled as compose labels them
//! and published on 127.0.0.1 only, and [`Cleanup`], which removes what a
//! test created when it is dropped, also when an assertion fails.
//!
//! A test calls [`docker_present`] first and returns with a `SKIPPED`
//! message (see [`skip_message`]) only when there is no Docker socket.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures::StreamExt;
use ragkit_docker::docker::ContainerInfo;
use serde_json::{Value, json};

/// Whether an engine may be there: `DOCKER_HOST` is set or the default
/// socket exists.
pub fn docker_present() -> bool {
    std::env::var_os("DOCKER_HOST").is_some() || Path::new("/var/run/docker.sock").exists()
}

/// What a Docker test prints when it skips.
pub fn skip_message() -> &'static str {
    "SKIPPED: /var/run/docker.sock is absent (and DOCKER_HOST unset); the Docker tests need an engine"
}

/// Connect and negotiate the API version; panics when the engine does not
/// answer (the socket exists, so it should).
pub async fn connect() -> Docker {
    Docker::connect_with_defaults()
        .expect("Docker client")
        .negotiate_version()
        .await
        .expect("Docker answers")
}

/// Removes the project's containers, its network and the image when
/// dropped, whatever happens.
pub struct Cleanup {
    /// Compose project label of every container the test created.
    pub project: String,
    pub network: String,
    /// `repo:tag`.
    pub image: String,
}

impl Cleanup {
    /// For project `project`: its network `{project}_default` and the
    /// image `{repo}:{project}`.
    pub fn new(project: &str, repo: &str) -> Cleanup {
        Cleanup {
            project: project.to_string(),
            network: format!("{project}_default"),
            image: format!("{repo}:{project}"),
        }
    }
}

/// Remove `project`'s containers (with their volumes), `network` and `image`.
pub async fn cleanup(project: &str, network: &str, image: &str) {
    let Ok(d) = Docker::connect_with_defaults() else {
        return;
    };
    let Ok(d) = d.negotiate_version().await else {
        return;
    };
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.compose.project={project}")],
    )]);
    if let Ok(list) = d
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
    {
        for c in list {
            if let Some(id) = c.id {
                let _ = d
                    .remove_container(
                        &id,
                        Some(
                            RemoveContainerOptionsBuilder::default()
                                .force(true)
                                .v(true)
                                .build(),
                        ),
                    )
                    .await;
            }
        }
    }
    let _ = d.remove_network(network).await;
    let _ = d
        .remove_image(
            image,
            Some(RemoveImageOptionsBuilder::default().force(true).build()),
            None,
        )
        .await;
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (p, n, i) = (
            self.project.clone(),
            self.network.clone(),
            self.image.clone(),
        );
        // A runtime of its own: drop may run inside the test's runtime,
        // which cannot be blocked on.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(cleanup(&p, &n, &i))
        })
        .join();
    }
}

/// The ragd binary built by `cargo build --workspace` (debug first, then
/// release), or under `CARGO_TARGET_DIR`.
pub fn ragd_bin() -> PathBuf {
    // cargo sets CARGO_MANIFEST_DIR when it runs a test (ragctl/, loadgen/:
    // one level below the workspace, like this crate's own folder).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest.join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("ragd");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "these tests need the ragd binary; build it first with `cargo build --workspace` (looked in {})",
        target.display()
    );
}

/// `docker import` of a root filesystem holding ragd and the libraries
/// `ldd` lists, as image `repo:tag`: it serves on 0.0.0.0:8080 with its
/// data in /data, open access (the port is published on 127.0.0.1 only).
pub async fn build_image(d: &Docker, repo: &str, tag: &str) {
    let bin = ragd_bin();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    for sub in ["data", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy(&bin, root.join("ragd")).unwrap();
    let ldd = Command::new("ldd").arg(&bin).output().expect("ldd runs");
    for lib in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
    {
        let dest = root.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dest).unwrap_or_else(|e| panic!("copy {lib}: {e}"));
    }
    let tar = dir.path().join("rootfs.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success(), "tar failed");
    let bytes = std::fs::read(&tar).unwrap();
    let opts = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(vec![
            r#"ENTRYPOINT ["/ragd"]"#.to_string(),
            r#"CMD ["serve","--listen","0.0.0.0:8080","--data-dir","/data"]"#.to_string(),
            // ragd refuses a non-loopback address without API keys unless
            // told so; the port is published on 127.0.0.1 only.
            "ENV RAGD_AUTH__ALLOW_UNAUTHENTICATED=true".to_string(),
            "EXPOSE 8080".to_string(),
        ])
        .build();
    let mut s = d.create_image(Some(opts), Some(bollard::body_full(bytes.into())), None);
    while let Some(r) = s.next().await {
        r.expect("image import");
    }
}

/// The project's containers, as ragctl and loadgen list them.
pub async fn project_containers(d: &Docker, project: &str) -> Vec<ContainerInfo> {
    ragkit_docker::docker::list(d, Some(project)).await.unwrap()
}

/// Whether `url` answers `/ready` with a success.
pub async fn ready(url: &str) -> bool {
    reqwest::get(format!("{url}/ready"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Create the project's network as `docker compose up` would.
pub async fn create_network(d: &Docker, project: &str, network: &str) {
    let net: NetworkCreateRequest = serde_json::from_value(json!({
        "Name": network,
        "Labels": {"com.docker.compose.project": project, "com.docker.compose.network": "default"}
    }))
    .unwrap();
    d.create_network(net).await.expect("network");
}

/// Create and start `{project}-ragd-1` from `image` on `network`, labelled
/// as compose's service `ragd`, port 8080 published on an ephemeral
/// 127.0.0.1 port; `host_config` adds to its HostConfig (limits...).
/// Returns the container id; does not wait for `/ready`.
pub async fn start_ragd(
    d: &Docker,
    project: &str,
    network: &str,
    image: &str,
    host_config: Value,
) -> String {
    start_ragd_with(
        d,
        project,
        network,
        image,
        json!({ "HostConfig": host_config }),
    )
    .await
}

/// [`start_ragd`] with `extra` merged into the create body, objects key by
/// key at every depth (`Cmd`, `Env`, more `Labels`, `HostConfig` limits and
/// binds, `NetworkingConfig`...).
pub async fn start_ragd_with(
    d: &Docker,
    project: &str,
    network: &str,
    image: &str,
    extra: Value,
) -> String {
    let name = format!("{project}-ragd-1");
    let mut body = json!({
        "Image": image,
        "Labels": {
            "com.docker.compose.project": project,
            "com.docker.compose.service": "ragd",
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False"
        },
        "ExposedPorts": {"8080/tcp": {}},
        "HostConfig": {
            "NetworkMode": network,
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
        }
    });
    merge(&mut body, &extra);
    let body: ContainerCreateBody = serde_json::from_value(body).unwrap();
    let c = d
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            body,
        )
        .await
        .expect("create replica");
    d.start_container(
        &c.id,
        None::<bollard::query_parameters::StartContainerOptions>,
    )
    .await
    .expect("start replica");
    c.id
}

/// `extra`'s keys into `base`, objects merged recursively, anything else
/// replaced.
fn merge(base: &mut Value, extra: &Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e.clone(),
    }
}

/// Network and one ragd replica (1 GiB, 512 processes) for `project`;
/// waits for `/ready`. Returns the container id.
pub async fn start_replica(d: &Docker, project: &str, network: &str, image: &str) -> String {
    create_network(d, project, network).await;
    let id = start_ragd(
        d,
        project,
        network,
        image,
        json!({"Memory": 1_073_741_824i64, "PidsLimit": 512}),
    )
    .await;
    wait_ready(d, project).await;
    id
}

/// The project's first container answers `/ready` (its port may change
/// across a restart: re-read it each time); returns its URL.
pub async fn wait_ready(d: &Docker, project: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = project_containers(d, project).await;
        if let Some(url) = list.first().and_then(|c| c.url_for_port(8080))
            && ready(&url).await
        {
            return url;
        }
        assert!(Instant::now() < deadline, "replica not ready: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
