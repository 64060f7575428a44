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
#   da-tables.json     the same package workload multiplying through per-factor tables
#   sigs.json          tessera bench sigs --backend simd,gpu --profile (the default
#                      Ed25519 kernel, `program`)
#   sigs-registers.json the same with --gpu-ed25519 registers (the second kernel,
#                      shaders/ed25519_registers.wgsl)
#   summary.txt        each gpu figure beside simd and raw reed-solomon-simd, and as
#                      a fraction of the host-to-GPU copy bound (python3 permitting)
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
    cargo test --release --locked -p tessera-kernels --test gpu --test gpu_ed25519 --test gpu_profile \
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
    step da-tables 120 "$bin/tessera" bench da --backend gpu --workload package \
        --repetitions 3 --gpu-multiply tables --profile --json
    step sigs 300 "$bin/tessera" bench sigs --backend simd,gpu --batches "$batches" \
        --profile --json
    step sigs-registers 300 "$bin/tessera" bench sigs --backend gpu --batches "$batches" \
        --gpu-ed25519 registers --profile --json
    echo ']}' >>"$OUT/summary.json"
    cat "$OUT/summary.json"
    if command -v python3 >/dev/null; then
        python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
# Each gpu figure beside simd and raw reed-solomon-simd of the same run, and as a
# fraction of the host-to-GPU copy bound (PCIE_BOUND_GBS, default 53: pinned copies
# on the H200 machine, measured for issue #20).
import json, os, sys
out = sys.argv[1]
bound = float(os.environ.get("PCIE_BOUND_GBS", "53")) * 1000
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except (OSError, ValueError):
        return []
da = load("da.json")
rate = {(r["workload"], r["operation"], r["backend"]): r["mb_per_s"] for r in da}
for (w, op, b), mbs in sorted(rate.items()):
    if b != "gpu":
        continue
    simd = rate.get((w, op, "simd"))
    raw = rate.get((w, op, "reed-solomon-simd"))
    print(f"{w:8} {op:13} gpu {mbs:10.1f} MB/s"
          + (f"  {mbs / simd:5.2f}x simd" if simd else "")
          + (f"  {mbs / raw:5.2f}x raw" if raw else "")
          + f"  {100 * mbs / bound:5.2f}% of the {bound / 1000:.0f} GB/s copy bound")
for name, what in [("da-radix1.json", "at 1 layer per pass"), ("da-tables.json", "with factor tables")]:
    for r in load(name):
        if r["backend"] == "gpu":
            print(f"{r['workload']:8} {r['operation']:13} gpu {what:22} {r['mb_per_s']:10.1f} MB/s")
sigs = load("sigs.json")
per = {(r["batch"], r["backend"]): r["per_second"] for r in sigs}
registers = {r["batch"]: r["per_second"] for r in load("sigs-registers.json") if r["backend"] == "gpu"}
for (n, b), v in sorted(per.items()):
    if b == "gpu":
        simd = per.get((n, "simd"))
        print(f"ed25519 batch {n:7}: gpu program {v:12.0f}/s" + (f"  {v / simd:5.2f}x simd" if simd else ""))
for n, v in sorted(registers.items()):
    simd, program = per.get((n, "simd")), per.get((n, "gpu"))
    print(f"ed25519 batch {n:7}: gpu registers {v:10.0f}/s" + (f"  {v / simd:5.2f}x simd" if simd else "")
          + (f"  {v / program:5.2f}x program" if program else ""))
PY
    fi
}

case ${1:-} in
build) build ;;
run) shift; run "$@" ;;
*)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
