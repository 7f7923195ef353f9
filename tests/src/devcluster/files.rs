//! Files a cluster needs before it starts: the service-account signing key, the admin token
//! and the kubeconfig (whose CA is the serving certificate kube-apiserver generates itself).

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
        let token_file = cert_dir.join("tokens.csv");
        std::fs::write(
            &token_file,
            format!("{token},admin,admin,\"system:masters\"\n"),
        )?;

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
        })
    }
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
