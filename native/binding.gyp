{
  "targets": [
    {
      "target_name": "sae_blas",
      "sources": ["src/sae_blas.c", "src/sparse_topk.c", "src/topk_screen.c", "src/transpose.c", "src/sparse_topk_napi.c", "src/lm_kernels.c"],
      "defines": ["NAPI_VERSION=8", "_DEFAULT_SOURCE"],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-Wall", "-Wextra", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I openblas 2>/dev/null | sed -e 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs-only-L openblas 2>/dev/null)", "-lopenblas"]
    }
  ]
}
