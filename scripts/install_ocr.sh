#!/usr/bin/env bash
# Tesseract, the OCR engine that reads scanned PDF pages (CITEQA_OCR), from the system's packages.
# citeqa works without it: scanned pages are then reported as such, with this install command.
set -euo pipefail

if command -v tesseract >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
            echo "note: OCR for scanned PDFs needs Tesseract: sudo apt-get install tesseract-ocr" >&2
            exit 0
        fi
    fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null
elif command -v brew >/dev/null 2>&1; then
    brew install tesseract
else
    echo "note: OCR for scanned PDFs needs Tesseract with your package manager (package tesseract-ocr or tesseract)" >&2
fi
