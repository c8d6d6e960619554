//! The console's files, embedded at compile time from `api/console/`.

/// One embedded file.
pub(crate) struct Asset {
    /// Its path under `/console/`.
    pub(crate) name: &'static str,
    /// Its `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Its bytes.
    pub(crate) body: &'static [u8],
}

macro_rules! assets {
    ($($name:literal => $type:literal),+ $(,)?) => {
        /// Every file of the console.
        pub(crate) const ALL: &[Asset] = &[$(Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../console/", $name)),
        }),+];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "icon.svg" => "image/svg+xml",
    "app.js" => "text/javascript; charset=utf-8",
    "api.js" => "text/javascript; charset=utf-8",
    "dom.js" => "text/javascript; charset=utf-8",
    "login.js" => "text/javascript; charset=utf-8",
    "stream.js" => "text/javascript; charset=utf-8",
    "fleet.js" => "text/javascript; charset=utf-8",
    "map.js" => "text/javascript; charset=utf-8",
    "vehicle.js" => "text/javascript; charset=utf-8",
    "chart.js" => "text/javascript; charset=utf-8",
    "trace.js" => "text/javascript; charset=utf-8",
    "ops.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet.css" => "text/css; charset=utf-8",
    "vendor/leaflet.markercluster.js" => "text/javascript; charset=utf-8",
    "vendor/MarkerCluster.css" => "text/css; charset=utf-8",
    "vendor/MarkerCluster.Default.css" => "text/css; charset=utf-8",
}

/// The file at `name` (exact match: no directories, so no traversal).
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ALL.iter().find(|a| a.name == name)
}
