//! End-to-end: `factory report` in JSON, Markdown and HTML — the HTML opened in headless
//! Chromium — and dry runs of a proposed policy.

use std::path::Path;
use std::process::Output;

use factory_tests::{TestRepo, stderr, stdout, success, workspace_root};

fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

/// The demo repository (human and agent commits, every tier).
fn demo() -> TestRepo {
    let holder = TestRepo::new();
    let dir = holder.home().join("demo");
    success(
        holder
            .command(factory_bin())
            .args(["demo", "--no-gate", "--dir"])
            .arg(&dir)
            .output()
            .unwrap(),
        "demo",
    );
    std::fs::remove_dir_all(holder.path()).unwrap();
    std::fs::rename(&dir, holder.path()).unwrap();
    holder
}

fn report(repo: &TestRepo, args: &[&str]) -> Output {
    repo.command(factory_bin())
        .arg("report")
        .args(args)
        .output()
        .unwrap()
}

/// The headless Chromium of Debian's `chromium` package, which .ci/run installs; without it the
/// browser test is skipped unless FACTORY_REQUIRE_BROWSER is set (as .ci/run sets it).
fn chromium() -> Option<String> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c.to_owned());
        }
    }
    assert!(
        std::env::var_os("FACTORY_REQUIRE_BROWSER").is_none(),
        "FACTORY_REQUIRE_BROWSER is set but no chromium is installed"
    );
    None
}

fn browse(browser: &str, page: &Path, profile: &Path, extra: &[&str]) -> Output {
    std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

#[test]
#[allow(clippy::print_stderr, reason = "a skipped browser check must say so")]
fn the_html_report_opens_in_chromium_and_shows_the_json_figures() {
    let repo = demo();
    let j = json(&report(&repo, &["--format", "json"]));
    assert_eq!(j["schema"], "factory.report/v1");
    assert_eq!(j["totals"]["commits"], 4);
    assert_eq!(j["totals"]["agent_commits"], 3);
    assert_eq!(j["tiers"]["hard-stop"], 1);
    assert_eq!(j["hard_stop"][0]["summary"], "Verify session tokens");
    assert!(
        j["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["kind"] == "missing-transcript")
    );
    let page = repo.home().join("report.html");
    let o = report(&repo, &["-o", &page.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no scripts, no external styles, fonts, images or links.
    for forbidden in ["<script", "src=", "<link", "@import", "url(", "href=\"http"] {
        assert!(!html.contains(forbidden), "the page contains {forbidden}");
    }
    assert!(html.contains("<svg role=\"img\" aria-labelledby=\"tier-t tier-d\""));
    assert!(html.contains("@media print"));
    // Each finding links to its commit's row, which exists.
    for v in j["violations"].as_array().unwrap() {
        let id = v["commit"].as_str().unwrap();
        assert!(
            html.contains(&format!("href=\"#c-{id}\"")) && html.contains(&format!("id=\"c-{id}\""))
        );
    }
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED the browser half: no chromium (FACTORY_REQUIRE_BROWSER makes it fail)");
        return;
    };
    let profile = repo.home().join("chromium-profile");
    let shot = repo.home().join("report.png");
    let o = browse(
        &browser,
        &page,
        &profile,
        &[
            "--window-size=1200,2400",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "a screenshot"
    );
    let o = browse(&browser, &page, &profile, &["--dump-dom"]);
    let log = stderr(&o);
    for line in log.lines() {
        assert!(
            !line.contains("CONSOLE")
                && !line.contains("Failed to load resource")
                && !line.contains("Uncaught"),
            "the page logged an error: {line}"
        );
    }
    let dom = stdout(&o);
    assert!(
        dom.contains("<h1>Compliance report: "),
        "rendered: {}",
        &dom[..dom.len().min(500)]
    );
    let shown = |name: &str| -> String {
        let marker = format!("data-figure=\"{name}\">");
        let start = dom
            .find(&marker)
            .unwrap_or_else(|| panic!("no figure {name}"))
            + marker.len();
        dom[start..].split('<').next().unwrap().to_owned()
    };
    let num = |v: &serde_json::Value| match v.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => v.to_string(),
    };
    for (figure, value) in [
        ("changes", &j["totals"]["changes"]),
        ("commits", &j["totals"]["commits"]),
        ("agent_commits", &j["totals"]["agent_commits"]),
        ("human_commits", &j["totals"]["human_commits"]),
        ("blocked_changes", &j["totals"]["blocked_changes"]),
        ("lines_added_agent", &j["totals"]["lines_added_agent"]),
        ("lines_added_human", &j["totals"]["lines_added_human"]),
        ("agent_share_percent", &j["metrics"]["agent_share_percent"]),
        ("coverage_percent", &j["transcripts"]["coverage_percent"]),
        ("approvals", &j["approvals"]["valid"]),
        ("tier_review", &j["tiers"]["review"]),
        ("tier_hard-stop", &j["tiers"]["hard-stop"]),
        ("signature_unsigned", &j["signatures"]["unsigned"]),
    ] {
        assert_eq!(shown(figure), num(value), "figure {figure}");
    }
    assert_eq!(
        shown("violations"),
        j["violations"].as_array().unwrap().len().to_string()
    );
}

#[test]
fn approvals_overrides_reverts_and_markdown() {
    let repo = TestRepo::new();
    let (bob, bob_pub) = repo.ssh_key("bob");
    let (olga, olga_pub) = repo.ssh_key("olga");
    repo.write(
        ".factory/policy.toml",
        factory_policy::DEFAULT_POLICY.text.to_owned()
            + &format!(
                "\n[people.bob]\nroles = [\"maintainer\", \"validation-architect\"]\nkeys = [\"{bob_pub}\"]\n[people.olga]\nroles = [\"override\", \"domain-expert\"]\nkeys = [\"{olga_pub}\"]\n"
            ),
    );
    repo.write("README.md", "# shop\n");
    let base = repo.commit("Base");
    let transcript = workspace_root().join("crates/factory-shiftlog/tests/fixtures/claude.jsonl");
    let factory = |args: &[&str]| {
        success(
            repo.command(factory_bin()).args(args).output().unwrap(),
            "factory",
        )
    };
    repo.write(
        "src/api.rs",
        "fn r(r: Router) -> Router { r.route(\"/orders\", get(list)) }\n",
    );
    repo.commit("Add the orders endpoint\n\nAgent: claude-code/2.0\nRequested-By: carol\n");
    factory(&["transcript", "attach", &transcript.display().to_string()]);
    factory(&[
        "approve",
        "--base",
        "HEAD~1",
        "--role",
        "maintainer",
        "--key",
        &bob.display().to_string(),
    ]);
    repo.write("src/billing/charge.rs", "fn charge() {}\n");
    repo.commit("Hotfix billing\n\nAgent: codex/0.39\nRequested-By: carol\n");
    factory(&["transcript", "attach", &transcript.display().to_string()]);
    factory(&[
        "override",
        "--base",
        "HEAD~1",
        "--reason",
        "INC-9 checkout down",
        "--key",
        &olga.display().to_string(),
    ]);
    repo.git(&["revert", "--no-edit", "HEAD~1"]);
    let o = report(&repo, &[&format!("{base}..HEAD"), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["totals"]["changes"], 3);
    assert_eq!(j["approvals"]["valid"], 1);
    assert_eq!(j["approvals"]["by_role"]["maintainer"], 1);
    assert_eq!(j["approvals"]["by_person"]["bob"], 1);
    assert_eq!(j["approvals"]["latency_hours"]["count"], 1);
    assert_eq!(j["overrides"][0]["person"], "olga");
    assert_eq!(j["overrides"][0]["reason"], "INC-9 checkout down");
    assert_eq!(j["metrics"]["reverts_of_agent_commits"], 1);
    assert_eq!(j["transcripts"]["with_transcript"], 2);
    assert_eq!(j["by_agent"][0]["models"][0], "claude-sonnet-4-5");
    // The revert is a human commit that touches billing: hard stop, blocked today.
    assert!(
        j["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["kind"] == "blocked-today")
    );
    let md = stdout(&report(
        &repo,
        &[&format!("{base}..HEAD"), "--format", "markdown"],
    ));
    assert!(md.starts_with("# Compliance report"), "{md}");
    assert!(
        md.contains("by olga at") && md.contains("INC-9 checkout down"),
        "{md}"
    );
    // Periods: nothing after the day of these commits; nothing at all before it.
    let j = json(&report(
        &repo,
        &["--since", "2026-01-06", "--format", "json"],
    ));
    assert_eq!(j["totals"]["changes"], 0);
    let o = report(&repo, &["--until", "2026-01-04"]);
    assert_eq!(o.status.code(), Some(2));
    let o = report(&repo, &["--since", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a date"), "{}", stderr(&o));
}

#[test]
fn a_stricter_policy_dry_run_shows_what_it_would_block() {
    let repo = demo();
    // Stricter: documentation needs a maintainer too.
    let stricter = factory_policy::DEFAULT_POLICY.text.replace(
        "description = \"Ships when CI is green: documentation and tests.\"",
        "description = \"Documentation and tests, with a maintainer's approval.\"\nrequires = [{ role = \"maintainer\" }]",
    );
    assert_ne!(stricter, factory_policy::DEFAULT_POLICY.text);
    let file = repo.home().join("stricter.toml");
    std::fs::write(&file, stricter).unwrap();
    let file = file.display().to_string();
    let j = json(&report(&repo, &["--format", "json", "--policy", &file]));
    let dry = &j["dry_run"];
    assert!(
        dry["blocked_proposed"].as_u64() > dry["blocked_current"].as_u64(),
        "{dry}"
    );
    assert_eq!(
        dry["newly_blocked"][0][1], "Document the orders API",
        "{dry}"
    );
    // The same from audit: the current decision passes, the proposed one blocks.
    let docs = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let o = repo
        .command(factory_bin())
        .args([
            "audit",
            &format!("{docs}~1..{docs}"),
            "--format",
            "json",
            "--policy",
            &file,
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "the exit code is the current policy's"
    );
    let a = json(&o);
    assert_eq!(a["current"]["decision"], "pass");
    assert_eq!(a["proposed"]["decision"]["decision"], "blocked");
    let o = repo
        .command(factory_bin())
        .args(["audit", &format!("{docs}~1..{docs}"), "--policy", &file])
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("with the proposed policy") && stdout(&o).contains("blocked"),
        "{}",
        stdout(&o)
    );
}

#[test]
#[allow(clippy::print_stderr, reason = "a skipped browser check must say so")]
fn a_year_of_weeks_reads_in_a_browser_without_overlapping_labels() {
    let repo = TestRepo::new();
    // Changes in the first and the last week of a year, and a few between: every week shows.
    for (i, day) in [
        "2026-01-05",
        "2026-01-06",
        "2026-03-02",
        "2026-11-30",
        "2026-12-01",
    ]
    .iter()
    .enumerate()
    {
        repo.write(&format!("docs/{i}.md"), format!("# {i}\n"));
        repo.git(&["add", "--all"]);
        let date = format!("{day}T10:00:00Z");
        let message = if i % 2 == 0 {
            format!("Write page {i}\n\nAgent: claude-code/2.0\n")
        } else {
            format!("Write page {i}")
        };
        success(
            repo.command("git")
                .env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date)
                .args(["commit", "--quiet", "-m", &message])
                .output()
                .unwrap(),
            "commit",
        );
    }
    let root = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let j = json(&report(
        &repo,
        &[&format!("{}..HEAD", root.trim()), "--format", "json"],
    ));
    let weeks = j["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 48, "2026-W02 to 2026-W49, the empty weeks too");
    assert_eq!(weeks[1]["week"], "2026-W03");
    assert_eq!(weeks[1]["changes"], 0);
    assert_eq!(
        j["range"]["branch"], "main",
        "the branch is named, not HEAD"
    );
    let page = repo.home().join("weeks.html");
    let o = report(
        &repo,
        &[
            &format!("{}..HEAD", root.trim()),
            "-o",
            &page.display().to_string(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("all changes") && html.contains("changes with agent commits"),
        "the chart has a legend"
    );
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED the browser half: no chromium (FACTORY_REQUIRE_BROWSER makes it fail)");
        return;
    };
    // Measured in the browser: no two week labels of the chart overlap, and the page needs no
    // horizontal scrolling at 1400 px. (The probe is added to a copy; the report has no script.)
    let probe = "<script>const r=[...document.querySelectorAll('text.week')].map(t=>t.getBoundingClientRect());let o=0;for(let i=1;i<r.length;i++){if(r[i].left<r[i-1].right)o++;}document.body.insertAdjacentHTML('beforeend','<pre id=probe>labels='+r.length+' overlaps='+o+' scroll='+(document.documentElement.scrollWidth>window.innerWidth)+'</pre>');</script>";
    let probed = repo.home().join("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let profile = repo.home().join("chromium-profile");
    let o = browse(
        &browser,
        &probed,
        &profile,
        &["--window-size=1400,900", "--dump-dom"],
    );
    let dom = stdout(&o);
    let line = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("the probe ran: {}", &dom[..dom.len().min(300)]));
    assert!(line.contains("overlaps=0"), "{line}");
    assert!(line.contains("scroll=false"), "{line}");
    assert!(!line.contains("labels=0"), "{line}");
}
