//! The deployment files stay consistent with the code.

use std::path::PathBuf;
use std::process::{Command, Output};

use fleetlog_tests::process::fleetlog_bin;
use fleetlog_tests::python::python;

/// Run `tests/python/<script> docker-compose.yml <fleetlog binary>`.
fn run_checker(script: &str) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(python())
        .arg(root.join("tests/python").join(script))
        .arg(root.join("docker-compose.yml"))
        .arg(fleetlog_bin())
        .output()
        .expect("python from TEST_PYTHON or tests/python/.venv (make test installs it)")
}

fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn docker_compose_runs_only_subcommands_and_settings_the_binary_has() {
    let out = run_checker("check_compose.py");
    let text = printed(&out);
    assert!(out.status.success(), "{text}");
    for expected in [
        "kafka: 3 nodes",
        "compose service registry: `fleetlog registry` ok",
        "compose service gateway-2: `fleetlog gateway` ok",
        "compose service decoder-2: `fleetlog decoder` ok",
        "projector lineage ×2",
        "published: host ports",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn the_compose_checker_refuses_broken_copies_of_the_file() {
    let out = run_checker("check_compose_test.py");
    let text = printed(&out);
    assert!(out.status.success(), "{text}");
    for expected in [
        "caught: duplicated decoder instance id",
        "caught: a quorum voter naming a missing node",
        "caught: replication factor above the brokers",
        "caught on the command line: exit 1",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("NOT CAUGHT"), "{text}");
}
