// `synflow_zc` (zero-cost-nas foresight/pruners/measures/synflow.py, bn = False): PyTorch-default
// init, |·| of every parameter, BN replaced by identity, one all-ones image, R = Σ outputs[0];
// score = Σ over the weights of weight layers of |W ⊙ ∂R/∂W|. The pass: synflow_proxy.cc.
#include "synflow.h"

namespace zennas {
namespace cpu {

namespace {
void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) { runSynflow(x, r, pool, out, true); }
}  // namespace

extern const CpuProxy kSynflowZcProxy = {"synflow_zc", synflowConfig, run};

}  // namespace cpu
}  // namespace zennas
