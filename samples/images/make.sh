#!/usr/bin/env bash
# Regenerates the demo's sample images (one 240x160 PNG per section, about 5 KB each) with
# headless Chromium and the Nanum font. The PNGs are committed; run this only to change them.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for spec in "politics:#1f4e79:정치" "economy:#2e7d32:경제" "society:#8e4b10:사회" \
            "world:#5b2c83:국제" "culture:#b0305a:문화"; do
  IFS=: read -r name color label <<<"$spec"
  cat >"$tmp/$name.html" <<EOF
<!doctype html><html><head><meta charset="utf-8"><style>
html,body{margin:0;width:240px;height:160px;overflow:hidden}
body{background:$color;position:relative;font-family:'NanumSquareRound','NanumGothic',sans-serif}
.c{position:absolute;left:130px;top:-20px;width:120px;height:120px;border-radius:50%;background:rgba(255,255,255,.12)}
.d{position:absolute;left:-30px;top:100px;width:90px;height:90px;border-radius:50%;background:rgba(255,255,255,.08)}
.t{position:absolute;left:20px;top:82px;color:#fff;font-size:34px;font-weight:bold}
.s{position:absolute;left:22px;top:126px;color:rgba(255,255,255,.75);font-size:12px;letter-spacing:1px}
</style></head><body><div class="c"></div><div class="d"></div><div class="t">$label</div>
<div class="s">PUBLISHER DEMO</div></body></html>
EOF
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --hide-scrollbars --force-device-scale-factor=1 \
    --window-size=240,160 --screenshot="$PWD/$name.png" "file://$tmp/$name.html" 2>/dev/null
done
