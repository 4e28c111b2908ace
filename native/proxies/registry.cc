// The one list of CPU proxies (see proxy.h).
#include "proxy.h"

namespace zennas {
namespace cpu {

extern const CpuProxy kZenProxy;
extern const CpuProxy kGradientsProxy;
extern const CpuProxy kGradNormProxy;
extern const CpuProxy kGradNormZcProxy;
extern const CpuProxy kSnipProxy;
extern const CpuProxy kSynflowProxy;
extern const CpuProxy kSynflowZcProxy;
extern const CpuProxy kNaswotProxy;
extern const CpuProxy kGsnrProxy;
extern const CpuProxy kFisherProxy;
extern const CpuProxy kJacobCovProxy;
extern const CpuProxy kTenasNtkProxy;
extern const CpuProxy kTenasLrProxy;
extern const CpuProxy kTenasProxy;
extern const CpuProxy kGraspProxy;

namespace {
const CpuProxy* const kProxies[] = {&kZenProxy, &kGradientsProxy,
                                     &kGradNormProxy,
                                     &kGradNormZcProxy,
                                     &kSnipProxy,
                                     &kSynflowProxy,
                                     &kSynflowZcProxy,
                                     &kNaswotProxy,
                                     &kGsnrProxy,
                                     &kFisherProxy,
                                     &kJacobCovProxy,
                                     &kTenasNtkProxy,
                                     &kTenasLrProxy,
                                     &kTenasProxy,
                                     &kGraspProxy};
}

const CpuProxy* findCpuProxy(const std::string& name) {
  for (const CpuProxy* p : kProxies)
    if (name == p->name) return p;
  return nullptr;
}

std::string cpuProxyNames() {
  std::string s;
  for (const CpuProxy* p : kProxies) s += (s.empty() ? "" : ", ") + std::string(p->name);
  return s;
}

}  // namespace cpu
}  // namespace zennas
