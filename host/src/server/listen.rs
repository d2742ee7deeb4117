//! The accept loop: plain TCP or TLS, HTTP/1.1, a cap on open connections, a deadline for a
//! request's headers, and a graceful stop (no new connections; requests in flight finish).

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use super::metrics::Metrics;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is unusable.
    #[error("TLS certificate file {path}: {problem}")]
    Cert {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The key file is unusable.
    #[error("TLS key file {path}: {problem}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The certificate and key do not make a server configuration.
    #[error("TLS certificate {cert} and key {key} do not fit together: {problem}")]
    Config {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// What rustls said.
        problem: String,
    },
}

/// Reads a PEM certificate chain and private key into a TLS acceptor (HTTP/1.1 by ALPN).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let shown = |p: &Path| p.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| TlsError::Cert {
            path: shown(cert),
            problem: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Cert {
            path: shown(cert),
            problem: "no PEM certificate in the file".into(),
        });
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: shown(key),
        problem: e.to_string(),
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(certs, private)
        })
        .map_err(|e| TlsError::Config {
            cert: shown(cert),
            key: shown(key),
            problem: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// How connections are served.
pub struct ListenOptions {
    /// TLS, or plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long to wait for requests in flight once a stop was asked.
    pub drain_timeout: Duration,
}

/// What a full server answers a connection it cannot take.
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 79\r\nconnection: close\r\n\r\n{\"error\":\"too many connections: the server is at its limit; try again shortly\"}";

/// Serves `app` on `listener` until `stop` turns true, then stops accepting and lets the
/// connections' requests in flight finish (up to the drain timeout).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    options: ListenOptions,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors or a reset before accept: keep serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.overloaded();
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let http = Arc::clone(&http);
        let tls = options.tls.clone();
        let metrics = Arc::clone(&metrics);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            metrics.connections().inc();
            let served = match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn).await.map_err(io::Error::other)
                }
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => {
                        let conn = http.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(conn).await.map_err(io::Error::other)
                    }
                    Err(err) => Err(err),
                },
            };
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            metrics.connections().dec();
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(options.drain_timeout) => {
            tracing::warn!("requests still in flight after the drain timeout; stopping anyway");
        }
    }
}

async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(FULL).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Binds the listening socket.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::FULL;

    #[test]
    fn the_full_answer_has_the_right_length() {
        let text = std::str::from_utf8(FULL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
