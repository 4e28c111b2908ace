# CPU-only build of the same sources (native/sources.txt, shared with CMakeLists.txt) for node-gyp /
# prebuildify (`npm run build:gyp`).
# The CUDA backend is only built by CMake (CMakeLists.txt + native/cuda/cuda.cmake).
{
  "targets": [
    {
      "target_name": "zennas",
      "sources": ["<!@(node -e \"const fs=require('fs');process.stdout.write(fs.readFileSync('native/sources.txt','utf8').split('\\n').filter(l=>l&&!l.startsWith('#')).concat(fs.readdirSync('native/cpu/ops').filter(f=>f.endsWith('.cc')).map(f=>'native/cpu/ops/'+f)).join(' '))\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "ZENNAS_VERSION=\"<!(node -p \"require('./package.json').version\")\""],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-ffp-contract=off"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } },
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {
          "dependencies": ["zennas_avx2", "zennas_avx512"]
        }, {
          "sources": ["native/cpu/kernels_avx2.cc", "native/cpu/kernels_avx512.cc"]
        }]
      ]
    },
    {
      # The AVX2/FMA kernels in their own static library so only they get -mavx2 -mfma;
      # native/cpu/dispatch.cc picks them at run time (cpuid).
      "target_name": "zennas_avx2",
      "type": "static_library",
      "sources": ["native/cpu/kernels_avx2.cc"],
      "include_dirs": ["native"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-mavx2", "-mfma", "-ffp-contract=off"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CPLUSPLUSFLAGS": ["-O3", "-mavx2", "-mfma", "-ffp-contract=off"] },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/arch:AVX2"] } }
    },
    {
      # The same kernels with the GEMM register block at 512 bits (-mavx512f), picked at run time
      # when cpuid and the OS (XCR0) say the CPU has AVX-512.
      "target_name": "zennas_avx512",
      "type": "static_library",
      "sources": ["native/cpu/kernels_avx512.cc"],
      "include_dirs": ["native"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-mavx2", "-mfma", "-mavx512f", "-ffp-contract=off"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CPLUSPLUSFLAGS": ["-O3", "-mavx2", "-mfma", "-mavx512f", "-ffp-contract=off"] },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/arch:AVX512"] } }
    }
  ]
}
