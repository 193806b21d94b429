//! Bundles the newsroom's rich-text editor (`editor/`, npm dependencies
//! pinned in its package-lock.json) with esbuild, for the binary to embed.
//! Without Node.js/npm (or with MASTHEAD_NO_EDITOR set) the build still
//! succeeds with an empty bundle, and the newsroom offers its Markdown
//! editor instead, saying why.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../../editor/src");
    println!("cargo:rerun-if-changed=../../editor/package-lock.json");
    println!("cargo:rerun-if-env-changed=MASTHEAD_NO_EDITOR");
    println!("cargo:rerun-if-env-changed=MASTHEAD_REQUIRE_EDITOR");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    let editor = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../editor");
    let result = if std::env::var_os("MASTHEAD_NO_EDITOR").is_some() {
        Err("MASTHEAD_NO_EDITOR is set".to_string())
    } else {
        bundle(&editor, &out)
    };
    if let Err(why) = result {
        // CI builds the editor or fails; it never quietly ships without it.
        if std::env::var_os("MASTHEAD_REQUIRE_EDITOR").is_some() {
            panic!("the rich-text editor could not be built: {why}");
        }
        println!(
            "cargo:warning=the rich-text editor was not built ({why}); the newsroom will use its Markdown editor"
        );
        for name in ["editor.js", "editor.css"] {
            if let Err(e) = std::fs::write(out.join(name), b"") {
                panic!("writing {name}: {e}");
            }
        }
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{shown} exited with {s}")),
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

fn bundle(editor: &Path, out: &Path) -> Result<(), String> {
    let lock = editor.join("package-lock.json");
    if !lock.exists() {
        return Err("editor/package-lock.json is missing".into());
    }
    // npm ci only when the installed tree is missing or older than the lock.
    let installed = editor.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&installed).is_none() || modified(&installed) < modified(&lock) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(editor))?;
    }
    run(Command::new(editor.join("node_modules/.bin/esbuild"))
        .arg(editor.join("src/editor.js"))
        .args([
            "--bundle",
            "--minify",
            "--format=iife",
            "--target=es2020",
            "--log-level=warning",
        ])
        .arg(format!("--outfile={}", out.join("editor.js").display())))?;
    std::fs::copy(editor.join("src/editor.css"), out.join("editor.css"))
        .map_err(|e| format!("editor.css: {e}"))?;
    Ok(())
}
