//! The API server: `run(listener, router, shutdown)`.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serve `router` on `listener` until `shutdown` is cancelled, then finish in-flight
/// requests (the caller's grace period bounds how long). Handlers see the peer address
/// (`ConnectInfo<SocketAddr>`), which the login rate limit keys on.
///
/// # Errors
/// When the listener fails.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "api listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await?;
    Ok(())
}
