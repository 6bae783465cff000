#!/bin/sh
# Vendor Dintero's Checkout Web SDK into the package's static files (no CDN at run time).
#
# Reproducible: a pinned version, checked against the npm registry's published sha512
# integrity before anything is copied. The SDK is MIT-licensed (its package.json and
# LICENSE); the licence is copied beside the build.
#
# Usage: scripts/vendor_web_sdk.sh        (from the repository root; needs npm)
set -eu

VERSION="0.8.30"
INTEGRITY="sha512-0xuL3dRrbAyTa7NFHEyuP8QxkDmsO6kJxAV7LDbSxlDf9ln3UvGVMzso1Lcq7qHwhT4HGiZSanJwMWNpd8HeHA=="
TARGET="dintero_django/static/dintero_django/vendor"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "@dintero/checkout-web-sdk@${VERSION}" >/dev/null)
tarball="$work/dintero-checkout-web-sdk-${VERSION}.tgz"

actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 | tr -d '\n')"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "integrity mismatch for @dintero/checkout-web-sdk@${VERSION}: $actual" >&2
    exit 1
fi

tar -xzf "$tarball" -C "$work"
license="$(node -e "process.stdout.write(require('$work/package/package.json').license)")"
if [ "$license" != "MIT" ]; then
    echo "unexpected licence $license: review it before vendoring" >&2
    exit 1
fi

mkdir -p "$TARGET"
cp "$work/package/dist/dintero-checkout-web-sdk.umd.min.js" "$TARGET/dintero-checkout-web-sdk.umd.min.js"
cp "$work/package/LICENSE" "$TARGET/dintero-checkout-web-sdk.LICENSE"
built="$(sha256sum "$TARGET/dintero-checkout-web-sdk.umd.min.js" | cut -d' ' -f1)"
printf '@dintero/checkout-web-sdk %s %s sha256:%s\n' "$VERSION" "$INTEGRITY" "$built" \
    > "$TARGET/dintero-checkout-web-sdk.VERSION"
echo "vendored @dintero/checkout-web-sdk@${VERSION} into $TARGET"
