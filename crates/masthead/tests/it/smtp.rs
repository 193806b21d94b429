//! The real SMTP server the tests send to: aiosmtpd on a loopback port
//! with the behaviours of `smtp_server.py` (refusals by address, a slow
//! server, DKIM verification), each message kept as it arrived.

use crate::harness::{decode_qp, TestApp};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The test SMTP server (see smtp_server.py).
pub struct Smtp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    pub async fn start(delay_ms: u32) -> Smtp {
        Smtp::start_with(delay_ms, None).await
    }

    /// With `dkim_key` (base64 DER of an RSA public key), each message's
    /// DKIM signature is verified on arrival.
    pub async fn start_with(delay_ms: u32, dkim_key: Option<&str>) -> Smtp {
        // A free port is only free until someone takes it: tests start
        // servers in parallel, so the server's own "ready" line (printed
        // once it listens) decides, and a lost race tries another port.
        for _ in 0..5 {
            if let Some(smtp) = Smtp::try_start(delay_ms, dkim_key).await {
                return smtp;
            }
        }
        panic!("the SMTP server did not start; is aiosmtpd installed? pip install aiosmtpd");
    }

    async fn try_start(delay_ms: u32, dkim_key: Option<&str>) -> Option<Smtp> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args([
                "--port",
                &port.to_string(),
                "--delay-ms",
                &delay_ms.to_string(),
                "--dir",
            ])
            .arg(dir.path())
            .args(["--dkim-key", dkim_key.unwrap_or("")])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting python3 {} (pip install aiosmtpd): {e}",
                    script.display()
                )
            });
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        let ready = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            line.trim() == "ready"
        });
        let ready = tokio::time::timeout(Duration::from_secs(20), ready)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or(false);
        let smtp = Smtp { child, port, dir };
        if ready {
            return Some(smtp);
        }
        // Dropping it kills and waits for the child (Drop).
        drop(smtp);
        None
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message received so far, as smtp_server.py parsed it.
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .filter_map(|f| serde_json::from_slice(&std::fs::read(f).ok()?).ok())
            .collect()
    }

    /// Waits (running the app's jobs) for a message to `to`, then takes
    /// it: its raw text, quoted-printable decoded.
    pub async fn message_to(&self, app: &TestApp, to: &str) -> String {
        for _ in 0..100 {
            app.run_jobs().await;
            if let Ok(rd) = std::fs::read_dir(self.dir.path()) {
                let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                files.sort();
                for f in files
                    .iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                {
                    let text = decode_qp(&std::fs::read_to_string(f).unwrap_or_default());
                    if text.contains(&format!("To: {to}")) {
                        let _ = std::fs::remove_file(f);
                        let _ = std::fs::remove_file(f.with_extension("json"));
                        return text;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no message to {to} arrived");
    }

    pub fn to(&self, email: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| {
                m["rcpt_tos"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|a| a == email))
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
