#!/usr/bin/env bash
# Serve the widget JavaScript from the site itself, so that static widgets render with no network:
# require.js and @jupyter-widgets/html-manager from the npm registry, fetched at set-up time.
set -euo pipefail
out=${1:-_vendor}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent requirejs@2.3.7 @jupyter-widgets/html-manager@1.0.6 >/dev/null)
for f in "$tmp"/*.tgz; do tar xzf "$f" -C "$tmp" && mv "$tmp/package" "${f%.tgz}"; done
dist="$tmp/jupyter-widgets-html-manager-1.0.6/dist"
rm -rf "$out"
mkdir -p "$out/static/widgets"
cp "$tmp/requirejs-2.3.7/require.js" "$dist/embed-amd.js" "$out/static/widgets/"
# The bundle asks for its icon fonts at <page folder>/@jupyter-widgets/html-manager/dist/.
for page_dir in "" book/; do
  mkdir -p "$out/extra/${page_dir}@jupyter-widgets/html-manager/dist"
  cp "$dist"/*.woff2 "$dist"/*.woff "$dist"/*.ttf "$dist"/*.eot "$dist"/*.svg \
     "$out/extra/${page_dir}@jupyter-widgets/html-manager/dist/"
done
touch "$out/.stamp"
echo "widget scripts vendored into $out"
