#!/usr/bin/env bash
# GPU check (issue #20 item 5): minutes on a GPU machine go to measuring, not to
# setting up. Two steps:
#
#   scripts/gpu-check.sh build           # here, on any x86-64 Linux machine with the
#                                        # repo's toolchain: release binaries into
#                                        # .gpu-check/ (ignored by git), stripped
#   scripts/gpu-check.sh run OUT [quick] # on the GPU machine, from the repo root with
#                                        # .gpu-check/ (and .gl/, if the machine has no
#                                        # Vulkan loader) carried: GPU tests, then the
#                                        # profiled benches, JSON and logs into OUT
#
# `run` points the Vulkan loader at the vendor's driver (NVIDIA's ICD where it
# exists, else whatever the loader finds), requires a hardware adapter for the tests
# (TESSERA_REQUIRE_GPU=1), and writes into OUT:
#   summary.json       each step's command, exit status and seconds, and the adapter
#   tests.log          the GPU test binaries' output
#   da.json            tessera bench da --backend simd,gpu --profile (package, slot)
#   da-radix1.json     the same package workload with one transform layer per dispatch
#   sigs.json          tessera bench sigs --backend simd,gpu --profile
#   *.log              stderr of each bench
# `quick` skips the slot workload and the largest signature batches (about a minute).
# Binaries built on the 2-core development machine ran unchanged on the H200 machine.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.gpu-check"

build() {
    cd "$here" || exit 1
    rm -rf "$bin" && mkdir -p "$bin" || exit 1
    cargo build --release --locked -p tessera-node || exit 1
    cp target/release/tessera "$bin/"
    # The GPU test binaries: their paths from cargo's JSON messages.
    cargo test --release --locked -p tessera-kernels --test gpu --test gpu_ed25519 \
        --test digest --no-run --message-format=json \
        | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
' | while read -r name path; do cp "$path" "$bin/test-$name"; done
    strip "$bin"/* 2>/dev/null
    git rev-parse HEAD >"$bin/commit"
    du -sh "$bin"
    ls -l "$bin"
}

# Run one step: `step NAME SECONDS COMMAND...`, its stdout to OUT/NAME.json (benches)
# or OUT/tests.log (tests), stderr to OUT/NAME.log, and a line in the summary.
step() {
    local name=$1 limit=$2
    shift 2
    local start end status out
    out="$OUT/$name.json"
    [[ $name == test-* ]] && out="$OUT/tests.log"
    start=$(date +%s%N)
    timeout "$limit" "$@" >>"$out" 2>>"$OUT/$name.log"
    status=$?
    end=$(date +%s%N)
    printf '%s{"step":"%s","status":%d,"milliseconds":%d,"command":"%s"}' \
        "$sep" "$name" "$status" "$(((end - start) / 1000000))" "$*" >>"$OUT/summary.json"
    sep=","
    echo "$name: exit $status" >&2
}

run() {
    OUT=${1:?usage: scripts/gpu-check.sh run OUT [quick]}
    local quick=${2:-}
    mkdir -p "$OUT" || exit 1
    cd "$here" || exit 1
    [[ -x $bin/tessera ]] || { echo "no $bin/tessera: run 'scripts/gpu-check.sh build' first and carry .gpu-check" >&2; exit 1; }
    # The Vulkan loader: carried .deb files where the machine has none.
    if ! ldconfig -p | grep -q libvulkan.so.1 && compgen -G ".gl/*.deb" >/dev/null; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    local icd
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
        /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
        if [[ -f $icd ]]; then
            export VK_DRIVER_FILES=$icd
            break
        fi
    done
    export TESSERA_REQUIRE_GPU=1 RUST_LOG=${RUST_LOG:-warn}
    sep=""
    printf '{"commit":"%s","vk_driver_files":"%s","host":"%s","steps":[' \
        "$(cat "$bin/commit" 2>/dev/null)" "${VK_DRIVER_FILES:-}" "$(nproc) threads" >"$OUT/summary.json"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/nvidia-smi.log" 2>&1

    for t in "$bin"/test-*; do
        step "$(basename "$t")" 300 "$t" --test-threads=2
    done
    local workloads=package,slot batches=1023,4096,10000,100000,300000
    if [[ $quick == quick ]]; then
        workloads=package
        batches=1023,4096,100000
    fi
    step da 400 "$bin/tessera" bench da --backend simd,gpu --workload "$workloads" \
        --repetitions 3 --profile --json
    step da-radix1 120 "$bin/tessera" bench da --backend gpu --workload package \
        --repetitions 3 --gpu-radix-bits 1 --profile --json
    step sigs 300 "$bin/tessera" bench sigs --backend simd,gpu --batches "$batches" \
        --profile --json
    echo ']}' >>"$OUT/summary.json"
    cat "$OUT/summary.json"
}

case ${1:-} in
build) build ;;
run) shift; run "$@" ;;
*)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
