//! The deployment files stay consistent with the code.

use std::path::PathBuf;
use std::process::Command;

use fleetlog_tests::process::fleetlog_bin;
use fleetlog_tests::python::python;

#[test]
fn docker_compose_runs_only_subcommands_and_settings_the_binary_has() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(python())
        .arg(root.join("tests/python/check_compose.py"))
        .arg(root.join("docker-compose.yml"))
        .arg(fleetlog_bin())
        .output()
        .expect("python from TEST_PYTHON or tests/python/.venv (make test installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("compose service gateway"));
}
