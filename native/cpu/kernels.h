// The CPU kernel table: one implementation compiled for AVX2+FMA (kernels_avx2.cc, built with
// -mavx2 -mfma), the same with a 512-bit GEMM block (kernels_avx512.cc, -mavx512f; same bits) and
// one portable (kernels_scalar.cc); selectKernels() picks at run time.
#pragma once
#include "backward.h"
#include "bn.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "pool.h"
#include "reduce.h"
#include "rng.h"
#include "winograd.h"

namespace zennas {
namespace cpu {

struct Kernels {
  const char* simd;  // "avx512" | "avx2" | "scalar"
  GaussianFillFn gaussianFill;
  UniformFillFn uniformFill;
  ConvGemmFn convGemm;
  SubsampleFn subsample;
  DwConvFn dwConv;
  BnStatsFn bnStats;
  BnStatsRunsFn bnStatsRuns;
  BnApplyFn bnApply;
  MaxPoolFn maxPool;
  GapFn gap;
  ReluFn relu;
  SigmoidFn sigmoid;
  AddFn add;
  ScaleFn scale;
  AbsMaxFn absMax;
  L1DiffFn l1Diff;
  // backward pass (backward.h) and the ops added with it
  ConvBwdWeightFn convBwdWeight;
  ConvBwdWeightDotFn convBwdWeightDot;
  ConvBwdWeight1x1Fn convBwdWeight1x1;
  ConvBwdDataFn convBwdData;
  DwConvBwdFn dwConvBwd;
  MaxPoolBwdFn maxPoolBwd;
  AvgPoolFn avgPool;
  AvgPoolBwdFn avgPoolBwd;
  BnBwdFn bnBwd;
  ReluBwdFn reluBwd;
  SigmoidBwdFn sigmoidBwd;
  ScaleBwdFn scaleBwd;
  DotFn dot;
  ConvBwdDataImagesFn convBwdDataImages;  // strided k×k input gradient, tasks over images
  ConvBwdWeightFn convBwdWeightPacked;     // weight-gradient GEMM on dY packed once per conv
  BnBwdFusedFn bnBwdFused;                 // BN backward, optionally through its folded ReLU
  SpreadStridedFn spreadStrided;           // 1×1 strided input gradient
  // Winograd F(4×4, 3×3) (winograd.h)
  WinoWeightsFn winoWeights;
  WinoConvFn winoConv;
  WinoInputColsFn winoInputCols;    // the same conv layer-wide: input transform,
  WinoGemmColsFn winoGemmCols;      // the 36 GEMMs,
  WinoOutputColsFn winoOutputCols;  // the output transform
  WinoWgradPackFn winoWgradPack;  // weight gradient F(3×3, 4×4): transform a chunk of tiles,
  WinoWgradGemmFn winoWgradGemm;  // its 36 GEMMs (accumulated over chunks),
  WinoWgradFinishFn winoWgradFinish;  // then dW = Gᵀ M G
  BnApplyAddReluFn bnApplyAddRelu;  // BN → ADD → RELU forward in one pass
  BnAddReluBwdFn bnAddReluBwd;      // and its reverse
};

const Kernels& kernelsScalar();
const Kernels* kernelsAvx2();    // nullptr when not compiled in (non-x86 builds)
const Kernels* kernelsAvx512();  // nullptr when not compiled in

struct CpuFeatures {
  bool avx2 = false, fma = false, avx512f = false;  // avx512f: the CPU has it and the OS saves the zmm state
};
CpuFeatures detectCpuFeatures();

/**
 * AVX-512 when the CPU has AVX2, FMA and AVX-512F, else AVX2 when it has AVX2 and FMA, else scalar;
 * ZENNAS_SIMD=avx2 / scalar caps the choice (tests, A/B runs).
 */
const Kernels& selectKernels();

}  // namespace cpu
}  // namespace zennas
