//! The network allow-list of a sandboxed agent: an HTTPS proxy outside the sandbox that opens
//! tunnels (`CONNECT host:port`) only to the hosts the runner allows, reached from inside the
//! sandbox — which has no network of its own — through a Unix socket in the run directory and a
//! forwarder that listens on the sandbox's own `127.0.0.1` ([`forward`]). The agent finds it
//! through `HTTPS_PROXY`; every tunnel opened or refused is logged in `network.log`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The port the forwarder listens on inside the sandbox (its own network namespace).
pub const PROXY_PORT: u16 = 3128;

/// Hosts an agent may reach: `host` (port 443), `host:port`, `*.domain` (any subdomain, 443)
/// or `*.domain:port`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowList(pub Vec<String>);

impl AllowList {
    /// Whether a tunnel to `host:port` is allowed.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|entry| {
            let entry = entry.to_ascii_lowercase();
            let (pattern, want) = match entry.rsplit_once(':') {
                Some((h, p)) => match p.parse::<u16>() {
                    Ok(p) => (h.to_owned(), p),
                    Err(_) => return false,
                },
                None => (entry.clone(), 443),
            };
            if want != port {
                return false;
            }
            match pattern.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => host == pattern,
            }
        })
    }
}

/// The proxy of one run; it stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts the proxy on the Unix socket `socket`, logging to `log`.
    pub fn start(socket: &Path, log: &Path, allow: AllowList) -> std::io::Result<Proxy> {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        listener.set_nonblocking(true)?;
        let log = Arc::new(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)?,
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let allow = Arc::new(allow);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let allow = Arc::clone(&allow);
                        let log = Arc::clone(&log);
                        std::thread::spawn(move || {
                            let line = tunnel(client, &allow);
                            if let Ok(mut f) = log.lock() {
                                let _ = writeln!(f, "{line}");
                            }
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Proxy {
            socket: socket.to_owned(),
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Serves one proxy request; returns the log line.
fn tunnel(client: UnixStream, allow: &AllowList) -> String {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match client.try_clone() {
        Ok(c) => c,
        Err(e) => return format!("error: {e}"),
    });
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return "error: unreadable request".to_owned();
    }
    // The rest of the head.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
            Err(_) => return "error: unreadable request head".to_owned(),
        }
    }
    let mut client = client;
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return format!("refused {method} {target}: only CONNECT (HTTPS) is proxied");
    }
    let Some((host, port)) = target
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
    else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return format!("refused CONNECT {target}: not host:port");
    };
    if !allow.allows(host, port) {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return format!("refused CONNECT {host}:{port}: not in the runner's network allow-list");
    }
    let upstream = match TcpStream::connect((host, port)) {
        Ok(s) => s,
        Err(e) => {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return format!("failed CONNECT {host}:{port}: {e}");
        }
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .is_err()
    {
        return format!("failed CONNECT {host}:{port}: the client went away");
    }
    let _ = client.set_read_timeout(None);
    // Bytes the client sent after the head are in the reader's buffer.
    let buffered = reader.buffer().to_vec();
    let (Ok(mut up_write), Ok(mut up_read)) = (upstream.try_clone(), upstream.try_clone()) else {
        return format!("failed CONNECT {host}:{port}: cannot split the connection");
    };
    if !buffered.is_empty() && up_write.write_all(&buffered).is_err() {
        return format!("failed CONNECT {host}:{port}: upstream closed");
    }
    let Ok(mut client_read) = client.try_clone() else {
        return format!("failed CONNECT {host}:{port}: cannot split the connection");
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
    format!("allowed CONNECT {host}:{port}")
}

/// Inside the sandbox: listens on `127.0.0.1:port`, forwards every connection to the proxy's
/// Unix socket, and runs `argv` until it ends; returns its exit code (128 + N for signal N).
pub fn forward(socket: &Path, port: u16, argv: &[String]) -> std::io::Result<i32> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let socket = socket.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let socket = socket.clone();
            std::thread::spawn(move || {
                let Ok(unix) = UnixStream::connect(&socket) else {
                    return;
                };
                let (Ok(mut tcp_read), Ok(mut unix_write)) = (tcp.try_clone(), unix.try_clone())
                else {
                    return;
                };
                let there = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut tcp_read, &mut unix_write);
                    let _ = unix_write.shutdown(Shutdown::Write);
                });
                let mut unix_read = unix;
                let mut tcp_write = tcp;
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match unix_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if tcp_write.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = tcp_write.shutdown(Shutdown::Write);
                let _ = there.join();
            });
        }
    });
    let Some((program, args)) = argv.split_first() else {
        return Err(std::io::Error::other("no command to run"));
    };
    let status = std::process::Command::new(program).args(args).status()?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::AllowList;

    #[test]
    fn the_allow_list_matches_hosts_ports_and_subdomains() {
        let a = AllowList(vec![
            "api.anthropic.com".into(),
            "*.openai.com".into(),
            "127.0.0.1:8080".into(),
        ]);
        assert!(a.allows("api.anthropic.com", 443));
        assert!(a.allows("API.Anthropic.com.", 443));
        assert!(!a.allows("api.anthropic.com", 80));
        assert!(!a.allows("evil-api.anthropic.com", 443));
        assert!(a.allows("chat.openai.com", 443));
        assert!(!a.allows("openai.com", 443));
        assert!(!a.allows("openai.com.evil.net", 443));
        assert!(a.allows("127.0.0.1", 8080));
        assert!(!a.allows("127.0.0.1", 8081));
    }
}
