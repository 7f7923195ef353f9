//! Files a cluster needs before it starts: the service-account signing key, the admin token
//! and the kubeconfig (whose CA is the serving certificate kube-apiserver generates itself),
//! and for the real node (`real_node`) its kubelet's token and the CA and client certificate
//! kube-apiserver shows the kubelet (`kubectl logs`).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::ports::Ports;

/// Paths of the generated files.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Files {
    pub cert_dir: PathBuf,
    pub service_account_key: PathBuf,
    pub service_account_pub: PathBuf,
    pub token_file: PathBuf,
    pub kubeconfig: PathBuf,
    /// Token of the real node's kubelet (user `system:node:<name>`, group `system:nodes`).
    pub node_token: String,
    /// CA the kubelet trusts for client certificates.
    pub kubelet_client_ca: PathBuf,
    /// Certificate and key kube-apiserver presents to kubelets.
    pub kubelet_client_cert: PathBuf,
    #[allow(missing_docs)]
    pub kubelet_client_key: PathBuf,
}

impl Files {
    /// Writes every file into `dir`.
    pub fn write(dir: &Path, ports: &Ports) -> Result<Self> {
        let cert_dir = dir.join("certs");
        std::fs::create_dir_all(&cert_dir)?;
        let service_account_key = cert_dir.join("service-account.key");
        let key = rcgen::KeyPair::generate()?;
        std::fs::write(&service_account_key, key.serialize_pem())?;
        let service_account_pub = cert_dir.join("service-account.pub");
        std::fs::write(&service_account_pub, key.public_key_pem())?;

        let token = random_hex(24)?;
        let node_token = random_hex(24)?;
        let node = format!("system:node:{}", super::real_node::NODE_NAME);
        let token_file = cert_dir.join("tokens.csv");
        std::fs::write(
            &token_file,
            format!(
                "{token},admin,admin,\"system:masters\"\n{node_token},{node},{node},\"system:nodes\"\n"
            ),
        )?;
        let (kubelet_client_ca, kubelet_client_cert, kubelet_client_key) =
            kubelet_client_certificate(&cert_dir)?;

        let kubeconfig = dir.join("kubeconfig");
        let ca = cert_dir.join("apiserver.crt");
        let server = format!("https://127.0.0.1:{}", ports.apiserver);
        std::fs::write(&kubeconfig, kubeconfig_yaml(&server, &ca, &token))?;
        Ok(Self {
            cert_dir,
            service_account_key,
            service_account_pub,
            token_file,
            kubeconfig,
            node_token,
            kubelet_client_ca,
            kubelet_client_cert,
            kubelet_client_key,
        })
    }
}

/// A CA and, signed by it, the client certificate kube-apiserver shows kubelets: the kubelet
/// accepts any client with a certificate of this CA (and nobody anonymous).
fn kubelet_client_certificate(cert_dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "devcluster kubelet client CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver-kubelet-client");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca)?;

    let paths = (
        cert_dir.join("kubelet-client-ca.crt"),
        cert_dir.join("apiserver-kubelet-client.crt"),
        cert_dir.join("apiserver-kubelet-client.key"),
    );
    std::fs::write(&paths.0, ca.pem())?;
    std::fs::write(&paths.1, cert.pem())?;
    std::fs::write(&paths.2, key.serialize_pem())?;
    Ok(paths)
}

fn kubeconfig_yaml(server: &str, ca: &Path, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: devcluster\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: admin\n  user:\n    token: {token}\ncontexts:\n- name: devcluster\n  context:\n    cluster: devcluster\n    user: admin\n    namespace: default\ncurrent-context: devcluster\n",
        ca = ca.display()
    )
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
