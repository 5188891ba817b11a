//! A static file server on loopback for the length of one e2e case: BuildKit downloads a
//! context tarball, a Dockerfile or a named context from it, and git fetches a repository
//! from it over git's "dumb" HTTP protocol (plain files, after `git update-server-info`).
//!
//! `GET` and `HEAD` of a file under the root; the query is ignored (git asks for
//! `info/refs?service=git-upload-pack` first and falls back to dumb HTTP on a plain file);
//! anything else is a 404. One thread per connection, `Connection: close`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A running server; stopped when dropped.
pub struct HttpServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl HttpServer {
    /// Serves the files under `root`.
    pub fn start(root: &Path) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let (root, flag) = (root.to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let root = root.clone();
                    std::thread::spawn(move || serve(stream, &root));
                }
            }
        });
        HttpServer {
            url: format!("http://127.0.0.1:{port}"),
            stop,
            port,
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, root: &Path) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split('?').next().unwrap_or("/");
    let body = match (method, file_under(root, path)) {
        ("GET" | "HEAD", Some(file)) => std::fs::read(file).ok(),
        _ => None,
    };
    let response = match &body {
        Some(b) => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            b.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned(),
    };
    let _ = stream.write_all(response.as_bytes());
    if let (Some(b), "GET") = (&body, method) {
        let _ = stream.write_all(b);
    }
}

/// The regular file `path` names under `root`; `..` never leaves it.
fn file_under(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = root.join(rel);
    file.is_file().then_some(file)
}
