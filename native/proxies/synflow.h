// The synflow pass shared by `synflow` (synflow_proxy.cc) and `synflow_zc` (synflow_zc_proxy.cc).
#pragma once
#include "zero_shot.h"

namespace zennas {
namespace cpu {

/** One image, backward plan. */
ExecutorConfig synflowConfig(const ProxyRequest& r);
/** zc = false: Zen-NAS synflow (BN kept, per-layer mean over output channels); true: zero-cost-nas (no BN, plain sum). */
void runSynflow(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out, bool zc);

}  // namespace cpu
}  // namespace zennas
