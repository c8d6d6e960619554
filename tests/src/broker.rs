//! Apache Kafka brokers of the test's own: one node ([`TestBroker`]) for tests that stop
//! and restart a broker, three ([`TestCluster`]) for failover.
//!
//! Every node runs through `scripts/kafka/node.sh`, the one place that knows how to run a
//! KRaft node (`make test` resolves the jars into `KAFKA_HOME` first). Storage lives in a
//! fresh directory, so a restart keeps what was stored; the node's log is
//! `<dir>/server.log` (kept when `TEST_LOG` is set).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_port};

/// How long a node may take to log that it started (a JVM on a busy 2-core machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);

fn node_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka/node.sh")
}

/// A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, never starting
/// with `-` (the storage tool would read it as an option).
fn cluster_id() -> String {
    loop {
        let id = encode_cluster_id(uuid::Uuid::new_v4().as_u128());
        if !id.starts_with('-') {
            return id;
        }
    }
}

fn encode_cluster_id(bits: u128) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bits.to_be_bytes())
}

/// One KRaft node (broker and controller in one JVM).
struct Node {
    id: u32,
    port: u16,
    controller_port: u16,
    dir: PathBuf,
    child: Option<ChildGuard>,
}

impl Node {
    fn new(id: u32, root: &Path) -> Self {
        let dir = root.join(format!("node-{id}"));
        std::fs::create_dir_all(&dir).expect("broker dir");
        Self {
            id,
            port: free_port(),
            controller_port: free_port(),
            dir,
            child: None,
        }
    }

    fn voter(&self) -> String {
        format!("{}@127.0.0.1:{}", self.id, self.controller_port)
    }

    /// Spawn the node; returns the byte offset of its log before this start.
    fn spawn(&mut self, voters: &str, cluster_id: &str, replication: u32) -> u64 {
        let logged = std::fs::metadata(self.dir.join("server.log")).map_or(0, |m| m.len());
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("broker.out"))
            .expect("broker output file");
        let err = out.try_clone().expect("broker output file");
        let mut cmd = Command::new("bash");
        cmd.arg(node_script())
            .arg("--dir")
            .arg(&self.dir)
            .args(["--port", &self.port.to_string()])
            .args(["--controller-port", &self.controller_port.to_string()])
            .args(["--node-id", &self.id.to_string()])
            .args(["--voters", voters])
            .args(["--cluster-id", cluster_id])
            .args(["--replication", &replication.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        self.child = Some(ChildGuard(
            cmd.spawn().expect("spawn scripts/kafka/node.sh"),
        ));
        logged
    }

    /// Wait until the node logged (past `logged`) that it started; false when it exited
    /// or did not start in time (for example a port taken before its bind).
    fn wait_started(&mut self, logged: u64) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && !matches!(child.0.try_wait(), Ok(None))
            {
                return false;
            }
            if log_since(&self.dir.join("server.log"), logged).contains("Kafka Server started") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Why it did not start: the tail of its output and log.
    fn diagnosis(&self) -> String {
        let tail = |name: &str| {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        };
        format!(
            "node {} on port {} (dir {}):\n{}\n{}",
            self.id,
            self.port,
            self.dir.display(),
            tail("broker.out"),
            tail("server.log")
        )
    }
}

fn log_since(path: &Path, offset: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn remove_unless_logging(dir: &Path) {
    if std::env::var_os("TEST_LOG").is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A one-node broker on `127.0.0.1:<port>` with its own storage directory.
pub struct TestBroker {
    /// The port it listens on (kept across restarts).
    pub port: u16,
    root: PathBuf,
    cluster_id: String,
    node: Node,
}

impl TestBroker {
    /// Start a broker on free ports with fresh storage and wait until it has started.
    ///
    /// # Panics
    /// When the broker cannot be started.
    pub fn start() -> Self {
        let root = std::env::temp_dir().join(crate::unique_name("fleetlog-broker"));
        let mut broker = Self {
            port: 0,
            node: Node::new(1, &root),
            root,
            cluster_id: cluster_id(),
        };
        // A port taken between `free_port` and the broker's bind: new ports and fresh
        // storage (its quorum names the ports), twice.
        for _ in 0..2 {
            broker.port = broker.node.port;
            if broker.try_restart() {
                return broker;
            }
            eprintln!("test broker did not start:\n{}", broker.node.diagnosis());
            broker.node.child = None;
            let _ = std::fs::remove_dir_all(&broker.node.dir);
            broker.node = Node::new(1, &broker.root);
        }
        broker.port = broker.node.port;
        broker.restart();
        broker
    }

    /// `127.0.0.1:<port>`, for `KAFKA_BROKERS`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kill the broker (SIGKILL: nothing is flushed that was not already durable).
    pub fn kill(&mut self) {
        self.node.child = None;
    }

    /// Start it again on the same ports and storage.
    ///
    /// # Panics
    /// When the broker does not start within 90 s.
    pub fn restart(&mut self) {
        assert!(
            self.try_restart(),
            "test broker did not start: {}",
            self.node.diagnosis()
        );
    }

    fn try_restart(&mut self) -> bool {
        let voters = self.node.voter();
        let logged = self.node.spawn(&voters, &self.cluster_id, 1);
        self.node.wait_started(logged)
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.node.child = None;
        remove_unless_logging(&self.root);
    }
}

/// Three KRaft nodes on loopback, each broker and controller, with
/// `default.replication.factor=3` and `min.insync.replicas=2` (the internal topics too).
pub struct TestCluster {
    root: PathBuf,
    cluster_id: String,
    nodes: Vec<Node>,
}

impl TestCluster {
    /// Start three nodes on free ports with fresh storage and wait until all have started.
    ///
    /// # Panics
    /// When a node does not start.
    pub fn start() -> Self {
        let root = std::env::temp_dir().join(crate::unique_name("fleetlog-cluster"));
        let mut cluster = Self {
            nodes: (1..=3).map(|id| Node::new(id, &root)).collect(),
            root,
            cluster_id: cluster_id(),
        };
        let voters = cluster.voters();
        let logged: Vec<u64> = cluster
            .nodes
            .iter_mut()
            .map(|node| node.spawn(&voters, &cluster.cluster_id, 3))
            .collect();
        for (node, logged) in cluster.nodes.iter_mut().zip(logged) {
            assert!(
                node.wait_started(logged),
                "cluster node did not start: {}",
                node.diagnosis()
            );
        }
        cluster
    }

    fn voters(&self) -> String {
        self.nodes
            .iter()
            .map(Node::voter)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every node's `127.0.0.1:<port>`, comma-separated, for `KAFKA_BROKERS`.
    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node ids (1, 2, 3).
    pub fn node_ids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// SIGKILL node `id` (its broker and controller).
    ///
    /// # Panics
    /// When `id` is not a node of the cluster.
    pub fn kill(&mut self, id: u32) {
        self.node_mut(id).child = None;
    }

    /// Start node `id` again on its ports and storage and wait until it has started.
    ///
    /// # Panics
    /// When `id` is not a node, or it does not start within 90 s.
    pub fn restart(&mut self, id: u32) {
        let voters = self.voters();
        let cluster_id = self.cluster_id.clone();
        let node = self.node_mut(id);
        let logged = node.spawn(&voters, &cluster_id, 3);
        assert!(
            node.wait_started(logged),
            "cluster node did not restart: {}",
            node.diagnosis()
        );
    }

    fn node_mut(&mut self, id: u32) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .expect("a node of the cluster")
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.child = None;
        }
        remove_unless_logging(&self.root);
    }
}

/// Leader and in-sync replica count of every partition of `topics` (a topic the broker
/// does not describe just now is left out).
///
/// # Panics
/// When no client can be created.
pub fn leadership(settings: &fleetlog_runtime::Settings, topics: &[&str]) -> Vec<(i32, usize)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer =
        fleetlog_runtime::kafka::consumer_config(&settings.kafka, "replication-probe")
            .create()
            .expect("probe client");
    let mut out = Vec::new();
    for topic in topics {
        let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
            continue;
        };
        for partition in metadata.topics()[0].partitions() {
            out.push((partition.leader(), partition.isr().len()));
        }
    }
    out
}

/// Whether every partition of `topics` has a leader and three in-sync replicas (so a
/// cluster node can die and leave two, `min.insync.replicas`).
pub async fn fully_replicated(settings: &fleetlog_runtime::Settings, topics: &[&str]) -> bool {
    let settings = settings.clone();
    let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    let state = tokio::task::spawn_blocking(move || {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        leadership(&settings, &names)
    })
    .await
    .expect("leadership task");
    !state.is_empty() && state.iter().all(|(leader, isr)| *leader >= 0 && *isr == 3)
}

/// Wait until [`fully_replicated`], at most 60 s.
///
/// # Panics
/// When it is not by then.
pub async fn wait_fully_replicated(settings: &fleetlog_runtime::Settings, topics: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fully_replicated(settings, topics).await {
        assert!(
            Instant::now() < deadline,
            "not fully replicated: {topics:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A fresh migrated database (see [`crate::spawn_app`]) wired to a broker of its own with
/// every topic of the catalogue created and a unique client id, so fixed topic names hold
/// only this test's records. Keep the broker alive for the test's length.
///
/// # Panics
/// When the broker, the database or the topics cannot be set up.
pub async fn isolated_app() -> (TestBroker, crate::TestApp) {
    let mut app = crate::spawn_app().await;
    app.settings.kafka.client_id = crate::unique_name("fleetlog");
    let broker = tokio::task::spawn_blocking(TestBroker::start)
        .await
        .expect("broker start task");
    app.settings.kafka.brokers = broker.address();
    let admin = fleetlog_runtime::kafka::admin(&app.settings.kafka).expect("admin client");
    tokio::time::timeout(
        Duration::from_secs(60),
        fleetlog_runtime::kafka::create_topics(&admin, &fleetlog_schemas::topics::all(2, 1), 1),
    )
    .await
    .expect("topics created within 60 s")
    .expect("topics created");
    (broker, app)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_id_whose_first_six_bits_are_62_would_start_with_a_dash() {
        assert!(super::encode_cluster_id(62 << 122).starts_with('-'));
        assert!(super::encode_cluster_id(0).starts_with('A'));
    }

    #[test]
    fn cluster_ids_are_22_url_safe_characters() {
        let id = super::cluster_id();
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(id, super::cluster_id());
        assert!((0..200).all(|_| !super::cluster_id().starts_with('-')));
    }
}
