//! A real browser for page tests: headless Chromium on a local file, its screenshot and its
//! DOM.
//!
//! | variable | meaning |
//! |---|---|
//! | `ATDM_CHROMIUM` | the Chromium (or Chrome) binary; otherwise `chromium` or `chromium-browser` on `PATH` |
//! | `ATDM_REQUIRE_BROWSER` | `1`: a missing browser fails the test instead of skipping the browser part (CI sets it) |

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn temp_dir(name: &str) -> PathBuf {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("atdm-{name}-{hex}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The target directory (`target/`), found from this test binary (`target/debug/deps/..`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| exe.parent().unwrap().to_path_buf())
}

pub fn browser_required() -> bool {
    std::env::var("ATDM_REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The browser: `ATDM_CHROMIUM`, or `chromium` / `chromium-browser` on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ATDM_CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "ATDM_CHROMIUM is {}, which is not a file; point it at the Chromium binary",
            p.display()
        );
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The browser, or `None` after saying why the browser part is skipped.
pub fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            !browser_required(),
            "no chromium found, and ATDM_REQUIRE_BROWSER asks for one: install it (apt-get install chromium) or set ATDM_CHROMIUM"
        );
        eprintln!("skipped: no chromium (set ATDM_CHROMIUM)");
    }
    found
}

/// Runs headless Chromium on a local file, with any host name resolving nowhere, so a page
/// that tried to fetch anything would fail to. Returns its standard output.
pub fn run_chromium(browser: &Path, args: &[String], file: &Path) -> Vec<u8> {
    let profile = temp_dir("chromium-profile");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    // Read standard output on a thread, so a full pipe never blocks the browser.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish within 90 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(status.success(), "{} failed: {status}", browser.display());
    out
}

/// A screenshot of a page at 1280 x 2400, as PNG bytes.
pub fn screenshot(browser: &Path, page: &Path, png: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(png);
    run_chromium(
        browser,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2400".into(),
        ],
        page,
    );
    std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()))
}

/// Width and height from a PNG's IHDR chunk.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24, "{} bytes is no PNG", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR", "a PNG starts with its IHDR chunk");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Writes the page to `target/<name>.html`, takes its screenshot (`target/<name>.png`),
/// checks it is a real, non-blank PNG, and returns the DOM Chromium built from the page,
/// after checking it holds no script element.
pub fn open_page(browser: &Path, html: &str, name: &str) -> String {
    let target = target_dir();
    let page = target.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let png_path = target.join(format!("{name}.png"));
    let png = screenshot(browser, &page, &png_path);
    assert_eq!(png_size(&png), (1280, 2400), "{}", png_path.display());

    // A blank page of the same size compresses to little; a page with text and tables
    // does not.
    let scratch = temp_dir("blank-page");
    let blank_page = scratch.join("blank.html");
    std::fs::write(&blank_page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = screenshot(browser, &blank_page, &scratch.join("blank.png"));
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        png.len() > 3 * blank.len(),
        "{} is {} bytes, a blank page {}: the page looks empty",
        png_path.display(),
        png.len(),
        blank.len()
    );
    eprintln!(
        "{}: {} bytes of HTML, screenshot {} ({} bytes; a blank page is {})",
        name,
        html.len(),
        png_path.display(),
        png.len(),
        blank.len()
    );
    let dom = String::from_utf8(run_chromium(browser, &["--dump-dom".into()], &page)).unwrap();
    // The browser ran no script and built no element from the page's data.
    assert!(!dom.contains("<script"), "a script element in the DOM");
    dom
}
