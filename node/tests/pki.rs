//! The network CA and mutual TLS over real QUIC on 127.0.0.1: admitted peers see each other's
//! identity; a rogue or revoked client never reaches the server's application; a revoked server
//! is refused by the client; the `yikou ca` commands.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use tokio::sync::mpsc;
use yikou_node::pki::{
    self, Ca, IDLE_TIMEOUT_MS, KEEP_ALIVE_MS, NodeCredentials, NodeIdentity, PeerRole, PkiError, files,
};

const STEP: Duration = Duration::from_secs(5);

fn hall() -> NodeIdentity {
    NodeIdentity::new("hall-a", PeerRole::Hall, "330102").unwrap()
}

fn town() -> NodeIdentity {
    NodeIdentity::new("town-a", PeerRole::Township, "330102001").unwrap()
}

/// What the test server saw.
#[derive(Debug)]
enum Seen {
    /// A handshake completed: the peer's identity and what it sent on its first stream.
    Admitted(NodeIdentity, Vec<u8>),
    /// A handshake failed.
    Refused(String),
}

struct Server {
    addr: SocketAddr,
    endpoint: quinn::Endpoint,
    seen: mpsc::UnboundedReceiver<Seen>,
    /// Application bytes read by the server, from any peer.
    bytes: Arc<AtomicUsize>,
}

/// A server that answers each peer's first stream with `welcome {its own name}`.
fn serve(creds: &NodeCredentials) -> Server {
    let endpoint =
        quinn::Endpoint::server(pki::server_config(creds).unwrap(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    let bytes = Arc::new(AtomicUsize::new(0));
    let (ep, counter, me) = (endpoint.clone(), bytes.clone(), creds.identity.name.clone());
    tokio::spawn(async move {
        while let Some(incoming) = ep.accept().await {
            let (tx, counter, me) = (tx.clone(), counter.clone(), me.clone());
            tokio::spawn(async move {
                let conn = match incoming.await {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = tx.send(Seen::Refused(e.to_string()));
                        return;
                    }
                };
                let peer = pki::peer_identity(&conn).unwrap();
                let Ok((mut send, mut recv)) = conn.accept_bi().await else { return };
                let got = recv.read_to_end(1 << 16).await.unwrap_or_default();
                counter.fetch_add(got.len(), Ordering::SeqCst);
                let _ = send.write_all(format!("welcome {me}").as_bytes()).await;
                let _ = send.finish();
                let _ = tx.send(Seen::Admitted(peer, got));
                conn.closed().await;
            });
        }
    });
    Server { addr, endpoint, seen, bytes }
}

fn client_endpoint() -> quinn::Endpoint {
    quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap()
}

/// Connects as `creds` to `server_name` at `addr`, sends `hello`, returns the reply (or the
/// error at whatever step failed).
async fn exchange(
    endpoint: &quinn::Endpoint,
    creds: &NodeCredentials,
    addr: SocketAddr,
    server_name: &str,
) -> Result<(quinn::Connection, Vec<u8>), String> {
    let connecting = endpoint
        .connect_with(pki::client_config(creds).unwrap(), addr, &pki::server_name(server_name))
        .unwrap();
    let conn = tokio::time::timeout(STEP, connecting).await.unwrap().map_err(|e| format!("connect: {e}"))?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| format!("open_bi: {e}"))?;
    send.write_all(b"hello").await.map_err(|e| format!("write: {e}"))?;
    send.finish().map_err(|e| format!("finish: {e}"))?;
    let reply = tokio::time::timeout(STEP, recv.read_to_end(1 << 16))
        .await
        .unwrap()
        .map_err(|e| format!("read: {e}"))?;
    Ok((conn, reply))
}

async fn next_seen(server: &mut Server) -> Seen {
    tokio::time::timeout(STEP, server.seen.recv()).await.unwrap().unwrap()
}

/// A refused client: its handshake may even look complete, but it never reads a reply, the
/// server records a failed handshake and reads no application byte.
async fn assert_refused(server: &mut Server, client: &NodeCredentials) -> String {
    let endpoint = client_endpoint();
    let err = exchange(&endpoint, client, server.addr, "hall-a").await.unwrap_err();
    match next_seen(server).await {
        Seen::Refused(reason) => {
            assert_eq!(server.bytes.load(Ordering::SeqCst), 0);
            endpoint.close(0u32.into(), b"");
            format!("client: {err}; server: {reason}")
        }
        other => panic!("the server admitted a client it should refuse: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_one_ca_connect_and_see_each_other() {
    let now = SystemTime::now();
    let mut ca = Ca::in_memory("测试县政务服务中心", now).unwrap();
    let hall_creds = ca.issue_in_memory(&hall(), now).unwrap();
    let town_creds = ca.issue_in_memory(&town(), now).unwrap();
    let mut server = serve(&hall_creds);

    let endpoint = client_endpoint();
    let (conn, reply) = exchange(&endpoint, &town_creds, server.addr, "hall-a").await.unwrap();
    assert_eq!(reply, b"welcome hall-a");
    assert_eq!(pki::peer_identity(&conn).unwrap(), hall());
    match next_seen(&mut server).await {
        Seen::Admitted(peer, got) => {
            assert_eq!(peer, town());
            assert_eq!(got, b"hello");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        conn.handshake_data().unwrap().downcast::<quinn::crypto::rustls::HandshakeData>().unwrap().protocol,
        Some(pki::ALPN.to_vec())
    );

    // The server name is checked: a hall's certificate does not answer for another name.
    let err = exchange(&endpoint, &town_creds, server.addr, "hall-b").await.unwrap_err();
    assert!(err.starts_with("connect:"), "{err}");
    conn.close(0u32.into(), b"done");
    endpoint.close(0u32.into(), b"");
    server.endpoint.close(0u32.into(), b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_a_rogue_ca_is_refused() {
    let now = SystemTime::now();
    let mut ca = Ca::in_memory("测试县政务服务中心", now).unwrap();
    let mut rogue = Ca::in_memory("测试县政务服务中心", now).unwrap();
    let hall_creds = ca.issue_in_memory(&hall(), now).unwrap();
    // Same name, same organisation, trusts the real CA (its certificate is no secret): only the
    // signature on its own certificate is wrong.
    let impostor = NodeCredentials {
        ca_der: ca.cert_der().clone(),
        crls: vec![ca.crl_der().clone()],
        ..rogue.issue_in_memory(&town(), now).unwrap()
    };
    // Under TLS 1.3 its handshake completes on its side: the refusal shows after `connect`, at
    // the first read, or earlier if the server's close has already arrived.
    let mut server = serve(&hall_creds);
    let why = assert_refused(&mut server, &impostor).await;
    assert!(!why.starts_with("client: connect:") && why.contains("BadSignature"), "{why}");

    // A CRL of another CA is refused when loaded (the verifiers would refuse every peer).
    let mut wrong = hall_creds.clone();
    assert_eq!(wrong.set_crl_pem(rogue.crl_pem()).unwrap_err().code(), "pki.crl_not_from_ca");

    // And the server keeps serving the real nodes.
    let town_creds = ca.issue_in_memory(&town(), now).unwrap();
    let endpoint = client_endpoint();
    let (_, reply) = exchange(&endpoint, &town_creds, server.addr, "hall-a").await.unwrap();
    assert_eq!(reply, b"welcome hall-a");
    endpoint.close(0u32.into(), b"");
    server.endpoint.close(0u32.into(), b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_nodes_are_refused_both_ways() {
    let now = SystemTime::now();
    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    Ca::init(&ca_dir, "测试县政务服务中心", now).unwrap();
    let mut ca = Ca::open(&ca_dir).unwrap();
    let town_b = NodeIdentity::new("town-b", PeerRole::Township, "330102002").unwrap();
    let hall_b = NodeIdentity::new("hall-b", PeerRole::Hall, "330103").unwrap();
    for id in [hall(), town(), town_b.clone(), hall_b.clone()] {
        ca.issue(&id, &tmp.path().join(&id.name), now).unwrap();
    }
    assert_eq!(ca.revoke("town-a", now).unwrap(), 1);
    assert_eq!(ca.revoke("hall-b", now).unwrap(), 1);
    assert_eq!(ca.crl_number(), 3);
    let crl = std::fs::read_to_string(ca_dir.join(files::CRL)).unwrap();

    // Each node got the CRL of its issue day (empty); the new one arrives later.
    let load = |name: &str| {
        let mut creds = NodeCredentials::load(&tmp.path().join(name)).unwrap();
        creds.set_crl_pem(&crl).unwrap();
        creds
    };
    let mut server = serve(&load("hall-a"));

    // The revoked township is refused.
    let why = assert_refused(&mut server, &load("town-a")).await;
    assert!(why.to_lowercase().contains("revoked"), "{why}");

    // A township that is not revoked still gets in with the new CRL in force.
    let endpoint = client_endpoint();
    let (_, reply) = exchange(&endpoint, &load("town-b"), server.addr, "hall-a").await.unwrap();
    assert_eq!(reply, b"welcome hall-a");
    assert!(matches!(next_seen(&mut server).await, Seen::Admitted(peer, _) if peer == town_b));

    // A revoked server is refused by its client, before anything is sent.
    let mut revoked_server = serve(&load("hall-b"));
    let err = exchange(&endpoint, &load("town-b"), revoked_server.addr, "hall-b").await.unwrap_err();
    assert!(err.starts_with("connect:") && err.to_lowercase().contains("revoked"), "{err}");
    assert_eq!(revoked_server.bytes.load(Ordering::SeqCst), 0);
    assert!(matches!(next_seen(&mut revoked_server).await, Seen::Refused(_)));

    // Revoking again changes nothing; an unknown name is an error.
    assert_eq!(ca.revoke("town-a", now).unwrap(), 0);
    assert_eq!(ca.crl_number(), 3);
    assert_eq!(ca.revoke("town-z", now).unwrap_err().code(), "pki.not_issued");
    endpoint.close(0u32.into(), b"");
    server.endpoint.close(0u32.into(), b"");
    revoked_server.endpoint.close(0u32.into(), b"");
}

fn fixed_now() -> SystemTime {
    // 2026-03-02T01:00:00Z
    UNIX_EPOCH + Duration::from_secs(1_772_413_200)
}

#[test]
fn identity_round_trips_through_the_certificate() {
    let mut ca = Ca::in_memory("测试县政务服务中心", fixed_now()).unwrap();
    let creds = ca.issue_in_memory(&town(), fixed_now()).unwrap();
    assert_eq!(creds.identity, town());
    let der = creds.cert_chain[0].as_ref();
    assert_eq!(pki::identity_of(der).unwrap(), town());
    assert_eq!(town().uri(), "urn:yikou:node:town-a:township:330102001");
    assert_eq!(NodeIdentity::from_uri(&town().uri()).unwrap(), town());
    assert_eq!(pki::server_name("town-a"), "town-a.yikou");

    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    assert!(!cert.is_ca());
    assert_eq!(cert.raw_serial().len(), 16);
    let issued = &ca.issued()[0];
    let serial: String = cert.raw_serial().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(issued.serial, serial);
    assert_eq!(issued.not_before, "2026-03-01T01:00:00Z");
    assert_eq!(issued.not_after, "2028-03-01T01:00:00Z");
    assert_eq!(cert.validity().not_after.timestamp(), 1_772_413_200 + 730 * 86_400);

    let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
    assert!(ca_cert.is_ca());
    assert_eq!(ca_cert.validity().not_after.timestamp(), 1_772_413_200 + 3_652 * 86_400);
    assert_eq!(cert.issuer().as_raw(), ca_cert.subject().as_raw());

    // The private key matches the certificate.
    pki::server_config(&creds).unwrap();

    // A certificate without a Yikou identity.
    let plain = rcgen::generate_simple_self_signed(vec!["town-a.yikou".to_string()]).unwrap();
    assert_eq!(pki::identity_of(plain.cert.der()).unwrap_err().code(), "pki.no_identity");
    assert_eq!(pki::identity_of(b"not a certificate").unwrap_err().code(), "pki.malformed");
}

#[test]
fn identities_are_validated() {
    let bad_names = ["", "Town-a", "-town", "town-", "town_a", "town.a", "镇", &"a".repeat(33)];
    for name in bad_names {
        let err = NodeIdentity::new(name, PeerRole::Township, "330102001").unwrap_err();
        assert_eq!(err.code(), "pki.invalid_node_name", "{name}");
        assert!(err.to_string().starts_with("节点名称"), "{err}");
    }
    for name in ["a", "town-a", "0-9", &"a".repeat(32)] {
        NodeIdentity::new(name, PeerRole::Township, "330102001").unwrap();
    }
    let bad_scopes = ["", "33-01", "330102 001", "三三", &"1".repeat(33)];
    for scope in bad_scopes {
        let err = NodeIdentity::new("town-a", PeerRole::Township, scope).unwrap_err();
        assert_eq!(err.code(), "pki.invalid_scope", "{scope}");
    }
    NodeIdentity::new("town-a", PeerRole::Township, "AB12cd").unwrap();

    assert_eq!(PeerRole::parse("hall").unwrap(), PeerRole::Hall);
    assert_eq!(PeerRole::parse("township").unwrap(), PeerRole::Township);
    assert_eq!(PeerRole::parse("city").unwrap_err().code(), "pki.invalid_role");
    assert_eq!(serde_json::to_string(&PeerRole::Township).unwrap(), "\"township\"");
    assert_eq!(PeerRole::Hall.as_str(), "hall");

    for uri in [
        "urn:yikou:node:town-a:township",
        "urn:yikou:node:town-a:township:330102001:x",
        "urn:other:town-a:township:330102001",
    ] {
        assert_eq!(NodeIdentity::from_uri(uri).unwrap_err().code(), "pki.bad_identity", "{uri}");
    }
    assert_eq!(
        NodeIdentity::from_uri("urn:yikou:node:Town:hall:1").unwrap_err().code(),
        "pki.invalid_node_name"
    );

    // The CA refuses an identity that was built around the constructor.
    let mut ca = Ca::in_memory("测试", fixed_now()).unwrap();
    let forged = NodeIdentity { name: "a:b".into(), role: PeerRole::Hall, scope: "1".into() };
    assert_eq!(ca.issue_in_memory(&forged, fixed_now()).unwrap_err().code(), "pki.invalid_node_name");
    assert_eq!(Ca::in_memory(" ", fixed_now()).unwrap_err().code(), "pki.invalid_org_name");
    assert_eq!(
        Ca::in_memory("x", UNIX_EPOCH - Duration::from_secs(1)).unwrap_err().code(),
        "pki.time_out_of_range"
    );
    assert_eq!(PkiError::NoPeerCertificate.code(), "pki.no_peer_certificate");
    assert_eq!((KEEP_ALIVE_MS, IDLE_TIMEOUT_MS), (5_000, 30_000));
}

fn yikou(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_yikou")).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = yikou(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The CRL number and the revoked serials (hex) of a CA directory's crl.pem.
fn crl_listing(ca_dir: &Path) -> (u64, Vec<String>) {
    let pem = std::fs::read(ca_dir.join(files::CRL)).unwrap();
    let der = rustls::pki_types::CertificateRevocationListDer::from_pem_slice(&pem).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    let number = crl.crl_number().unwrap().to_string().parse().unwrap();
    let serials =
        crl.iter_revoked_certificates().map(|r| r.raw_serial_as_string().replace(':', "")).collect();
    (number, serials)
}

#[test]
fn the_ca_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let ca_dir = tmp.path().join("ca");
    let node_dir = tmp.path().join("town-a");
    let (ca_s, node_s) = (ca_dir.to_str().unwrap(), node_dir.to_str().unwrap());

    let out = ok(&["ca", "init", ca_s, "--name", "测试县政务服务中心"]);
    assert!(out.starts_with("已建立网络 CA:测试县政务服务中心"), "{out}");
    for file in [files::CA_CERT, files::CA_KEY, files::CRL, files::REVOKED, files::ISSUED] {
        assert!(ca_dir.join(file).is_file(), "{file}");
    }
    #[cfg(unix)]
    assert_eq!(mode(&ca_dir.join(files::CA_KEY)), 0o600);

    // No second CA over the first.
    let key_before = std::fs::read(ca_dir.join(files::CA_KEY)).unwrap();
    let out = yikou(&["ca", "init", ca_s, "--name", "另一个"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("错误:") && err.contains("已有网络 CA") && err.contains("拒绝覆盖"), "{err}");
    assert_eq!(std::fs::read(ca_dir.join(files::CA_KEY)).unwrap(), key_before);

    let out = ok(&[
        "ca",
        "issue",
        ca_s,
        "--node",
        "town-a",
        "--role",
        "township",
        "--scope",
        "330102001",
        "--out",
        node_s,
    ]);
    assert!(out.starts_with("已签发节点证书:town-a(乡镇,范围 330102001),序列号 "), "{out}");
    for file in [files::NODE_CERT, files::NODE_KEY, files::CA_CERT, files::CRL] {
        assert!(node_dir.join(file).is_file(), "{file}");
    }
    #[cfg(unix)]
    assert_eq!(mode(&node_dir.join(files::NODE_KEY)), 0o600);
    let creds = NodeCredentials::load(&node_dir).unwrap();
    assert_eq!(creds.identity, town());
    let issued: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ca_dir.join(files::ISSUED)).unwrap()).unwrap();
    assert_eq!(issued[0]["name"], "town-a");
    assert_eq!(issued[0]["role"], "township");
    assert_eq!(issued[0]["scope"], "330102001");
    let serial = issued[0]["serial"].as_str().unwrap().to_string();
    assert!(out.contains(&serial), "{out}");

    // Bad input is refused with the reason.
    let out = yikou(&[
        "ca", "issue", ca_s, "--node", "Town_A", "--role", "township", "--scope", "1", "--out", node_s,
    ]);
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("错误:节点名称「Town_A」无效"));
    let out =
        yikou(&["ca", "issue", ca_s, "--node", "town-a", "--role", "city", "--scope", "1", "--out", node_s]);
    assert!(String::from_utf8(out.stderr).unwrap().contains("hall(大厅)或 township(乡镇)"));

    let crl_before = std::fs::read(ca_dir.join(files::CRL)).unwrap();
    let out = ok(&["ca", "revoke", ca_s, "--node", "town-a"]);
    assert!(out.starts_with("已吊销节点 town-a 的 1 张证书,吊销列表已更新为第 2 号"), "{out}");
    assert_ne!(std::fs::read(ca_dir.join(files::CRL)).unwrap(), crl_before);
    let revoked: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ca_dir.join(files::REVOKED)).unwrap()).unwrap();
    assert_eq!(revoked["crl_number"], 2);
    assert_eq!(revoked["revoked"][0]["serial"], serial.as_str());
    assert_eq!(revoked["revoked"][0]["name"], "town-a");
    assert_eq!(crl_listing(&ca_dir), (2, vec![serial.clone()]));

    // Revoking again changes nothing...
    let out = ok(&["ca", "revoke", ca_s, "--node", "town-a"]);
    assert!(out.starts_with("节点 town-a 的证书此前均已吊销,吊销列表未变(第 2 号"), "{out}");
    // ... unless an interrupted revocation left crl.pem behind revoked.json: then it is re-signed.
    std::fs::write(ca_dir.join(files::CRL), &crl_before).unwrap();
    assert_eq!(crl_listing(&ca_dir), (1, vec![]));
    ok(&["ca", "revoke", ca_s, "--node", "town-a"]);
    assert_eq!(crl_listing(&ca_dir), (2, vec![serial]));

    let out = yikou(&["ca", "revoke", ca_s, "--node", "town-z"]);
    assert!(String::from_utf8(out.stderr).unwrap().contains("没有给节点「town-z」签发过证书"));
    let out = yikou(&[
        "ca",
        "issue",
        tmp.path().join("none").to_str().unwrap(),
        "--node",
        "a",
        "--role",
        "hall",
        "--scope",
        "1",
        "--out",
        node_s,
    ]);
    assert!(String::from_utf8(out.stderr).unwrap().contains("没有网络 CA"));
}
