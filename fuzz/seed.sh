#!/usr/bin/env bash
# Seed each decoder's corpus with the official vectors' binaries of its type, so the
# fuzzer starts from valid values and mutates them. Corpora are not committed.
set -euo pipefail
cd "$(dirname "$0")"
V=${JAM_VECTORS:-../../shared/vectors}
seed() { local t=$1; shift; mkdir -p "corpus/$t"; for f in "$@"; do [ -f "$f" ] && cp "$f" "corpus/$t/$(basename "$(dirname "$f")")-$(basename "$f")"; done; }
seed decode_header "$V"/codec/*/header_*.bin
seed decode_block "$V"/codec/*/block.bin
seed decode_extrinsic "$V"/codec/*/extrinsic.bin
seed decode_work_package "$V"/codec/*/work_package.bin
echo "seeded: $(ls corpus | tr '\n' ' ')"
