#!/usr/bin/env bash
# Refresh the console's map libraries: `npm ci` in api/console (versions pinned in its
# package.json and package-lock.json), then their dist files into api/console/vendor/,
# which is committed and embedded in the binary (building fleetlog needs no npm).
# Run after changing a version; `cargo test -p fleetlog-api console` checks the copies.
set -euo pipefail
cd "$(dirname "$0")/../api/console"
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p vendor
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css vendor/
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css vendor/
cp node_modules/leaflet/LICENSE vendor/LICENSE.leaflet
cp node_modules/leaflet.markercluster/MIT-LICENCE.txt vendor/LICENSE.markercluster
(cd vendor && sha256sum leaflet.js leaflet.css leaflet.markercluster.js MarkerCluster.css MarkerCluster.Default.css >SHA256SUMS)
echo "vendor/ refreshed from $(node -p 'require("./node_modules/leaflet/package.json").version') and $(node -p 'require("./node_modules/leaflet.markercluster/package.json").version')"
