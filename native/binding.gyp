{
  "variables": {
    "blas_defines": "<!(node blas-config.mjs defines)",
    "blas_include_dirs": "<!(node blas-config.mjs include_dirs)",
    "blas_libraries": "<!(node blas-config.mjs libraries)"
  },
  "targets": [
    {
      "target_name": "sae_blas",
      "sources": [
        "src/sae_blas.c", "src/sparse_topk.c", "src/topk_screen.c", "src/transpose.c", "src/sparse_topk_napi.c", "src/row_gather.c",
        "src/lm_kernels.c", "src/row_topk.c", "src/gemm/gemm.c", "src/gemm/own.c", "src/gemm/kernel_x86.c", "src/gemm/kernel_portable.c"
      ],
      "defines": ["NAPI_VERSION=8", "_DEFAULT_SOURCE", "<@(blas_defines)"],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-Wall", "-Wextra", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "include_dirs": ["<@(blas_include_dirs)"],
      "libraries": ["<@(blas_libraries)"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "OTHER_CFLAGS": ["-O3", "-std=c11", "-fno-math-errno", "-Xpreprocessor", "-fopenmp"],
            "OTHER_LDFLAGS": ["-lomp"]
          }
        }]
      ]
    }
  ]
}
