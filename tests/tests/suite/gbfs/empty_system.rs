//! An empty system: every file of both versions still validates, the entry point is 3.0,
//! and unknown files are 404 in the §9 shape (a POST is 405).

use serde_json::json;

use super::{api, checked, every_file, get, validate};

#[tokio::test]
async fn an_empty_system_serves_valid_feeds_and_unknown_files_are_404() {
    let app = fleetlog_tests::spawn_app().await;
    let (base, _api) = api(&app).await;
    let entries = ["gbfs.json", "gbfs_versions.json", "manifest.json"]
        .map(|f| format!("{base}/gbfs/{f}"))
        .to_vec();
    let (report, valid) = validate(entries).await;
    assert!(valid, "GBFS files invalid: {report:#}");
    assert_eq!(checked(&report), every_file(), "{report:#}");
    let status = get(&base, "/gbfs/2.3/free_bike_status.json").await;
    assert_eq!(status.body["data"], json!({"bikes": []}));
    assert!(
        status.body["last_updated"].is_i64(),
        "2.3 times are POSIX seconds"
    );
    let discovery = get(&base, "/gbfs/gbfs.json").await;
    assert_eq!(
        discovery.body["version"],
        json!("3.0"),
        "the entry point is 3.0"
    );
    assert_eq!(
        discovery.body["data"],
        get(&base, "/gbfs/3.0/gbfs.json").await.body["data"],
        "/gbfs/gbfs.json is the 3.0 discovery file"
    );

    for path in [
        "/gbfs/3.0/free_bike_status.json",
        "/gbfs/2.3/vehicle_status.json",
        "/gbfs/2.3/manifest.json",
        "/gbfs/4.0/gbfs.json",
        "/gbfs/3.0/vehicle_status",
        "/gbfs/vehicle_status.json",
        "/gbfs/3.0/a/b.json",
    ] {
        let file = get(&base, path).await;
        assert_eq!(file.status, 404, "{path}");
        assert_eq!(file.body["error"]["code"], json!("not_found"), "{path}");
        assert!(file.body["error"]["message"].is_string(), "{path}");
    }
    let post = reqwest::Client::new()
        .post(format!("{base}/gbfs/gbfs.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
}
