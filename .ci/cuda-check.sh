#!/usr/bin/env bash
# Compile-only check of the CUDA backend (native/cuda/**), so its sources cannot rot on machines
# without a GPU. Needs nvcc; fetches cuDNN headers/libs from the NVIDIA wheels (pip, local
# wheelhouse) into a temp dir, builds both addons into build/cuda-check/ and loads them (with and
# without cuDNN on the loader path) to check the errors users would see. Without a device it
# also checks what the CUDA plans decide on the host: every schema op is accepted (forward and
# gradients plans), and a gradients plan's parameter-gradient layout and unreachable ops equal
# what the CPU engine's 'gradients' proxy returns for the same net.
# Exit 0 with a message when nvcc or the wheels are unavailable; non-zero when the CUDA
# sources fail to configure or compile. Nothing is run on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

NVCC="$(command -v nvcc || true)"
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
if [[ -z "$NVCC" ]]; then
  echo "cuda-check: skipped (nvcc not found)"
  exit 0
fi
echo "cuda-check: $("$NVCC" --version | tail -1)"

if ! grep -q "native/cuda/cuda.cmake" CMakeLists.txt 2>/dev/null; then
  echo "cuda-check: FAILED: CMakeLists.txt does not include native/cuda/cuda.cmake"
  exit 1
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/zennas-cuda-check.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# cuDNN 9 for CUDA 13 (fall back to the CUDA 12 build for older toolkits).
if ! python3 -m pip install --quiet --no-deps --target "$TMP/site" nvidia-cudnn-cu13 >"$TMP/pip.log" 2>&1 &&
   ! python3 -m pip install --quiet --no-deps --target "$TMP/site" nvidia-cudnn-cu12 >>"$TMP/pip.log" 2>&1; then
  echo "cuda-check: skipped (could not install the nvidia-cudnn wheel):"
  tail -3 "$TMP/pip.log"
  exit 0
fi
CUDNN_ROOT_DIR="$TMP/site/nvidia/cudnn"
if [[ ! -f "$CUDNN_ROOT_DIR/include/cudnn.h" ]]; then
  echo "cuda-check: skipped (the cuDNN wheel has no include/cudnn.h)"
  exit 0
fi

export PATH="$(dirname "$NVCC"):$PATH"
LOG="$TMP/build.log"
rm -rf build/cuda-check  # its CMake cache would point at an earlier run's (deleted) cuDNN wheel
set +e
npx --no-install cmake-js compile -O build/cuda-check \
  --CDZENNAS_WITH_CUDA=ON --CDZENNAS_CUDNN_ROOT="$CUDNN_ROOT_DIR" --CDCMAKE_CUDA_COMPILER="$NVCC" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc -ne 0 ]]; then
  echo "cuda-check: FAILED: the addon with the CUDA backend does not build (exit $rc)"
  exit 1
fi
if ! grep -q "zennas: CUDA backend enabled" "$LOG"; then
  echo "cuda-check: FAILED: nvcc and cuDNN are present but the CUDA backend was not enabled:"
  grep "zennas: CUDA backend" "$LOG" || true
  exit 1
fi
ADDON="$PWD/build/cuda-check/Release/zennas_cuda.node"
if [[ ! -f "$ADDON" ]]; then
  echo "cuda-check: FAILED: $ADDON was not produced"
  exit 1
fi
# The gradients plan's cuDNN backward passes are linked in (cuDNN is the addon's one dynamic CUDA dependency).
DYNSYMS="$(readelf --dyn-syms -W "$ADDON")"  # not piped into grep -q: with pipefail, readelf's SIGPIPE would fail the test
for sym in cudnnConvolutionBackwardData cudnnConvolutionBackwardFilter cudnnGetConvolutionBackwardDataAlgorithm_v7 \
           cudnnGetConvolutionBackwardFilterAlgorithm_v7; do
  if ! grep -q " $sym\b" <<<"$DYNSYMS"; then
    echo "cuda-check: FAILED: zennas_cuda.node does not import $sym (the CUDA backward pass is not linked)"
    exit 1
  fi
done
if grep -q 'libcudnn\|libcudart' <<<"$(readelf -d build/cuda-check/Release/zennas.node)"; then
  echo "cuda-check: FAILED: the CPU addon zennas.node links CUDA libraries (it must load without them)"
  exit 1
fi

# A net with every schema op (descriptor v2, written out by hand: no library code), shared by the
# checks below. Ops 16 and 19 feed no output (their gradients must be exact zeros).
cat > "$TMP/allops.js" <<'JS'
const v2 = (ops, outs, cin = 3) => { const w = [0x5A4E4E32, 2, ops.length, cin, outs.length, 0, 0, 0, ...ops.flat(), ...outs]; w[5] = w.length; return Int32Array.from(w); };
const allOps = () => v2([
  [1, 1, 3, 0, 8, 3, 1],        // 0 conv 3→8 k3 (v1, 8×8)
  [3, 1, 0, 1],                 // 1 bn
  [4, 1, 0, 2],                 // 2 relu (v3)
  [2, 1, 2, 3, 3, 2],           // 3 dwconv k3 s2 (v4, 4×4)
  [5, 1, 2, 3, 3, 2],           // 4 maxpool k3 s2
  [11, 1, 3, 3, 3, 2, 1],       // 5 avgpool k3 s2 countIncludePad
  [11, 1, 3, 3, 3, 2, 0],       // 6 avgpool k3 s2 in-bounds count
  [10, 4, 0, 4, 5, 6, 7],       // 7 add of 4 (v8)
  [12, 1, 0, 8],                // 8 swish (v9)
  [6, 1, 0, 9],                 // 9 gap (v10)
  [7, 1, 2, 10, 8, 1],          // 10 linear 8→8 with bias
  [8, 1, 0, 11],                // 11 sigmoid (v12)
  [9, 2, 0, 9, 12],             // 12 mul: SE gate (v13)
  [13, 1, 0, 13],               // 13 identity (v14)
  [14, 1, 0, 13],               // 14 zero (v15)
  [10, 2, 0, 14, 15],           // 15 add (v16)
  [1, 1, 3, 16, 4, 1, 1],       // 16 conv 1×1, feeds nothing
  [6, 1, 0, 16],                // 17 gap (v18)
  [7, 1, 2, 18, 10, 0],         // 18 linear 8→10, the logits (v19)
  [1, 1, 3, 3, 4, 3, 1],        // 19 conv, feeds nothing
], [19]);
module.exports = { v2, allOps };
JS

# The CUDA addon's own surface (no library code): the shared Engine class, cudaStatus,
# setErrorClass and the _cudaPlan hook — and none of the old second N-API surface. _cudaPlan runs
# the one descriptor validator (parseDescriptor) and the CUDA op coverage check without a GPU.
surface() {
  node -e '
    const a = require(process.argv[1]);
    const fail = (m) => { console.error("cuda-check:   " + m); process.exit(1); };
    for (const k of ["Engine", "cudaStatus", "setErrorClass", "_cudaPlan"]) if (typeof a[k] !== "function") fail("export " + k + " missing");
    for (const k of ["cudaZenScore", "cudaLatency"]) if (k in a) fail("stale export " + k + " (the Engine class replaces it)");
    class ZErr extends Error { constructor(code, msg) { super(msg); this.name = "ZennasError"; this.code = code; } }
    a.setErrorClass(ZErr);
    const code = (f) => { try { f(); return "ok"; } catch (e) { if (!(e instanceof ZErr)) fail("not a ZennasError: " + e); return e.code + ": " + e.message; } };
    const st = a.cudaStatus();
    console.log("cuda-check:   cudaStatus() =", JSON.stringify(st));
    const mk = code(() => new a.Engine({ backend: "cuda" }).close());
    if (!st.available && !/^E_BACKEND: CUDA backend unavailable/.test(mk)) fail("new Engine({backend:\"cuda\"}) without a GPU: " + mk);
    if (!/^E_BACKEND/.test(code(() => new a.Engine({ backend: "cpu" })))) fail("backend \"cpu\" must be E_BACKEND in the CUDA addon");
    // descriptor v2: [magic, 2, nOps, inputChannels, nOutputs, length, 0, 0], ops [code, nIn, nAttr, inputs, attrs], outputs
    const { v2, allOps } = require(process.argv[2]);
    const conv = (x, cout, k = 3, s = 1) => [1, 1, 3, x, cout, k, s];
    const p = a._cudaPlan(v2([conv(0, 8), [3, 1, 0, 1], [4, 1, 0, 2], [6, 1, 0, 3], [7, 1, 2, 4, 10, 1]], [5]), 8);
    if (p.ops !== 5 || p.output.join() !== "10,1,1") fail("_cudaPlan(conv-bn-relu-gap-linear) = " + JSON.stringify(p));
    const nary = a._cudaPlan(v2([conv(0, 4), conv(0, 4), conv(0, 4), [10, 3, 0, 1, 2, 3], [13, 1, 0, 4], [14, 1, 0, 5]], [6]), 8);
    if (nary.ops !== 6 || nary.output.join() !== "4,8,8") fail("_cudaPlan(3-input add, identity, zero) = " + JSON.stringify(nary));
    // Every schema op runs on CUDA: AVGPOOL (both count modes) and SWISH too, forward and gradients plans.
    for (const cip of [0, 1]) {
      const avg = a._cudaPlan(v2([conv(0, 4), [11, 1, 3, 1, 3, 2, cip], [12, 1, 0, 2]], [3]), 8);
      if (avg.ops !== 3 || avg.output.join() !== "4,4,4") fail("_cudaPlan(conv, avgpool countIncludePad=" + cip + ", swish) = " + JSON.stringify(avg));
    }
    // AVGPOOL with its optional pad attribute (4 attributes: the NAS-Bench-201 2×2/2, pad 0) and CONCAT along channels.
    const padCat = v2([conv(0, 4), [11, 1, 4, 1, 2, 2, 1, 0], conv(0, 6, 3, 2), [17, 2, 0, 2, 3]], [4]);
    for (const backward of [false, true]) {
      const pc = a._cudaPlan(padCat, 8, { backward });
      if (pc.ops !== 4 || pc.output.join() !== "10,4,4") fail("_cudaPlan(avgpool 2x2/2 pad 0, concat), backward " + backward + " = " + JSON.stringify(pc));
    }
    const fwd = a._cudaPlan(allOps(), 8);
    if (fwd.ops !== 20 || fwd.output.join() !== "10,1,1") fail("_cudaPlan(every op) = " + JSON.stringify(fwd));
    const g = a._cudaPlan(allOps(), 8, { backward: true });
    const layout = (g.gradients || []).map((e) => e.op + ":" + e.size).join(",");
    // conv OIHW 8·3·9, BN dγ+dβ 2·8, dwconv 8·9, linear 8·8 + bias 8, conv 4·8, linear 10·8 (no bias), conv 4·8·9
    if (layout !== "0:216,1:16,3:72,10:72,16:32,18:80,19:288") fail("gradients layout " + layout);
    if ((g.unreachable || []).join() !== "16,19") fail("unreachable ops " + JSON.stringify(g.unreachable));
    if (g.slots !== 21) fail("a gradients plan keeps every value (21 buffers), got " + g.slots);
    const v1 = code(() => a._cudaPlan(Int32Array.from([0x5A4E4E31, 1, 1, 1, 3, 1, 0, 0, 4, 0, 1, 0, 3, 3, 0, 0]), 8));
    if (!/^E_DESCRIPTOR: invalid descriptor: descriptor v1/.test(v1)) fail("v1 descriptor: " + v1);
    const flat = code(() => a._cudaPlan(v2([[7, 1, 2, 0, 10, 0]], [1]), 8));
    if (!/^E_STRUCTURE: op 0 \(linear\)/.test(flat)) fail("linear on an 8x8 input: " + flat);
    console.log("cuda-check:   CUDA addon surface OK (Engine, cudaStatus, setErrorClass, _cudaPlan; v2 validation, every op, AVGPOOL pad, CONCAT, gradients layout)");
  ' "$ADDON" "$TMP/allops.js"
}
if ! surface; then
  echo "cuda-check: FAILED: the CUDA addon's exports or descriptor checks are wrong"
  exit 1
fi

# Load the CUDA addon through the library (src/, via tsx from npm ci): with cuDNN present it must
# load and say why it cannot run here; with cuDNN gone it must say how to find it — and the CPU
# engine must keep working in both cases.
if [[ ! -f build/Release/zennas.node || ! -d node_modules/tsx ]]; then
  echo "cuda-check: FAILED: run npm ci first (the load check uses build/Release/zennas.node and tsx)"
  exit 1
fi
smoke() {  # $1: regex the cudaReason must match
  ZENNAS_CUDA_ADDON="$ADDON" node --import=tsx -e '
    const { backends, Engine } = require("./src/engine/engine");
    const b = backends();
    console.log("cuda-check:   backends() =", JSON.stringify(b));
    if (b.cuda) { console.log("cuda-check:   a usable GPU is present"); process.exit(0); }
    if (!new RegExp(process.argv[1], "i").test(b.cudaReason || "")) { console.error("cudaReason does not match " + process.argv[1]); process.exit(1); }
    let code;
    try { new Engine({ backend: "cuda" }); } catch (e) { code = e.code; }
    if (code !== "E_BACKEND") { console.error("new Engine({backend: \"cuda\"}) did not throw E_BACKEND"); process.exit(1); }
    const e = new Engine({ backend: "cpu", threads: 1 });
    const { encodeDescriptor, lowerForScoring, parseStructure } = require("./src");
    e.zenScore(encodeDescriptor(lowerForScoring(parseStructure("SuperConvK3BNRELU(3,8,1,1)"))), { batchSize: 2, resolution: 8 })
      .then((r) => { e.close(); if (!Number.isFinite(r.mean)) process.exit(1); });
  ' "$1"
}
if ! smoke 'GPU|driver'; then
  echo "cuda-check: FAILED: the CUDA addon does not load, or reports no clear reason, with cuDNN present"
  exit 1
fi
# The CUDA gradients plan's host-side decisions against the CPU engine's 'gradients' proxy on the
# same net: the same ops return gradients, with the same lengths, and exactly the ops the CUDA
# plan finds unreachable get all-zero gradients on the CPU.
gradlayout() {
  node --import=tsx -e '
    const a = require(process.argv[1]);
    const { allOps } = require(process.argv[2]);
    const { Engine } = require("./src/engine/engine");
    const fail = (m) => { console.error("cuda-check:   " + m); process.exit(1); };
    const d = allOps();
    const g = a._cudaPlan(d, 8, { backward: true });
    const e = new Engine({ backend: "cpu", threads: 1 });
    e.run("gradients", d, { batchSize: 2, resolution: 8, loss: "cross-entropy", returnGradients: true, inputGradient: true })
      .then((r) => {
        e.close();
        const cpu = (r.gradients || []).map((x) => x.op + ":" + x.data.length).join(",");
        const gpu = g.gradients.map((x) => x.op + ":" + x.size).join(",");
        if (cpu !== gpu) fail("gradient layout: CPU " + cpu + ", CUDA plan " + gpu);
        const zero = (r.gradients || []).filter((x) => x.data.every((v) => v === 0)).map((x) => x.op).join();
        if (zero !== g.unreachable.join()) fail("all-zero CPU gradients at ops [" + zero + "], CUDA plan unreachable [" + g.unreachable.join() + "]");
        if (!r.inputGradient || r.inputGradient.length !== 2 * 3 * 8 * 8) fail("CPU input gradient length " + (r.inputGradient && r.inputGradient.length));
        console.log("cuda-check:   gradients plan = CPU engine: layout " + gpu + ", exact zeros at ops " + zero);
      })
      .catch((err) => fail(String(err)));
  ' "$ADDON" "$TMP/allops.js"
}
if ! gradlayout; then
  echo "cuda-check: FAILED: the CUDA gradients plan disagrees with the CPU engine on the gradient layout"
  exit 1
fi
rm -rf "$TMP/site"
if ! smoke 'cannot be loaded.*libcudnn'; then
  echo "cuda-check: FAILED: without cuDNN the CUDA addon's load error is not reported clearly"
  exit 1
fi
echo "cuda-check: OK (zennas_cuda.node compiled and loaded, host-side plans checked; not run on a GPU: none here)"
