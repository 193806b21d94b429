//! The benchmark's second baseline: the same HTTP stack Masthead uses
//! (tokio, hyper through axum) serving a file's bytes from memory with
//! nothing else: no middleware, no headers beyond Content-Type. The
//! article benchmark runs it beside Masthead and nginx, so the figures say
//! how much of the gap to nginx is the stack and how much is Masthead.
//!
//! Usage: bare-server FILE ADDR (serves until killed).

use axum::http::header;
use axum::routing::get;
use bytes::Bytes;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(addr)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bare-server FILE ADDR");
        return std::process::ExitCode::from(2);
    };
    let body = match std::fs::read(file) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            eprintln!("{file}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let app = axum::Router::new().fallback(get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body) }
        }));
        match tokio::net::TcpListener::bind(addr.as_str()).await {
            Ok(listener) => {
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("serve: {e}");
                }
            }
            Err(e) => eprintln!("bind {addr}: {e}"),
        }
    });
    std::process::ExitCode::SUCCESS
}
