#!/usr/bin/env bash
# Re-vendor the browser assets the API serves (src/api/console/vendor, src/api/docs_assets) from
# the npm registry at pinned versions. The files are committed: nothing is fetched at run time,
# in `make install` or in CI. Run this only to upgrade a version, then commit the result.
set -euo pipefail
UPLOT=uplot@1.6.32
SWAGGER=swagger-ui-dist@5.35.0
REDOC=redoc@2.5.4
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for spec in "$UPLOT" "$SWAGGER" "$REDOC"; do
  name="${spec%@*}"
  mkdir -p "$name"
  tar xzf "$(npm pack "$spec" --silent | tail -n 1)" -C "$name"
done
CONSOLE="$ROOT/src/api/console/vendor"
DOCS="$ROOT/src/api/docs_assets"
mkdir -p "$CONSOLE" "$DOCS/swagger-ui" "$DOCS/redoc"
cp uplot/package/dist/uPlot.iife.min.js uplot/package/dist/uPlot.min.css "$CONSOLE/"
cp uplot/package/LICENSE "$CONSOLE/uPlot.LICENSE"
cp swagger-ui-dist/package/{swagger-ui-bundle.js,swagger-ui-bundle.js.LICENSE.txt,swagger-ui.css,LICENSE} \
  "$DOCS/swagger-ui/"
cp redoc/package/bundles/{redoc.standalone.js,redoc.standalone.js.LICENSE.txt} redoc/package/LICENSE \
  "$DOCS/redoc/"
# ReDoc's sidebar shows a logo from its CDN: point it at nothing, so the page fetches nothing
# from elsewhere (the image's own onError hides it).
sed -i 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:,#g' "$DOCS/redoc/redoc.standalone.js"
printf '%s\n' "$UPLOT" "$SWAGGER" "$REDOC" > "$ROOT/src/api/docs_assets/VERSIONS"
echo "vendored $UPLOT $SWAGGER $REDOC"
