//! The size of a connection's task: memory every idle connection holds.

use std::sync::Arc;

use fleetlog_runtime::gateway_settings::GatewaySettings;
use fleetlog_runtime::producer::Producer;
use fleetlog_runtime::settings::KafkaSettings;
use fleetlog_schemas::wire::WireCodec;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::Gateway;
use super::connection::Connection;
use crate::protocol::Protocol;

/// Every connection's task holds this future for its whole life, idle or not, so its
/// size is memory per idle connection (issue 14; `fleetlog bench ingest` measures the
/// RSS). The paths that write are boxed to keep it down: 2,664 bytes before, 1,616
/// after. A change that inlines a large future again fails here, not in production.
#[tokio::test]
async fn an_idle_connection_task_stays_small() {
    let producer = Producer::from_settings(&KafkaSettings::default(), "size")
        .expect("a producer needs no broker to exist");
    let codec = Arc::new(WireCodec::new("http://127.0.0.1:9"));
    let pool = fleetlog_runtime::db::pool("postgres://127.0.0.1:9/none", 1)
        .expect("a lazy pool needs no database to exist");
    let directory = super::directory::Directory::new(pool, "size");
    let gw = Gateway::new(&GatewaySettings::default(), producer, codec, directory);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _device = TcpStream::connect(addr).await.expect("connect");
    let (stream, peer) = listener.accept().await.expect("accept");
    let conn = Connection::new(gw, Protocol::Teltonika, peer, CancellationToken::new());
    let task = conn.serve(stream);
    let bytes = std::mem::size_of_val(&task);
    assert!(
        bytes <= 1_700,
        "a connection's task future takes {bytes} bytes"
    );
}
