#!/usr/bin/env bash
# Installs the Debian packages qmskit's documents and independent validators need, when
# they are missing and we may: weasyprint's Pango/HarfBuzz, poppler (pdfsig, pdftoppm,
# pdftotext), dcmtk (dcmdump), dicom3tools (dciodvfy), tesseract-ocr, pinned fonts, and Debian's
# headless Chromium with its driver for the browser tests of `qms serve` (tests/web).
set -euo pipefail
need=()
command -v pdfsig >/dev/null || need+=(poppler-utils)
command -v dcmdump >/dev/null || need+=(dcmtk)
command -v dciodvfy >/dev/null || need+=(dicom3tools)
command -v tesseract >/dev/null || need+=(tesseract-ocr)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || need+=(libharfbuzz0b libharfbuzz-subset0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -d /usr/share/fonts/truetype/liberation ] || need+=(fonts-liberation)  # tests/deid_pixels: labels in another font
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "warning: missing system packages (${need[*]}); install them with apt-get as root." >&2
  echo "         tests that need them will fail or skip." >&2
fi
